"""Filing, reading and describing records on behalf of an actor: every check and audit entry is here.

The CLI (local mode) and the HTTP API both call these functions, so a document read or a
refusal is decided and recorded by the same code whichever way it arrives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import BinaryIO

from archive.filing import Filed, file_record, file_version
from archive.reading import VersionRef, read_version, resolve
from archive.records import RecordView, VersionView, describe, list_records
from audit.trail import record as audit
from naming import parse_name
from operations.context import Context
from retention.holds import active_hold, set_storage_hold
from search.queue import filed as index_filed


def file_new(
    ctx: Context, source: BinaryIO, *, record_type: str, year: int, title: str | None, filename: str | None,
    retain_from: date | None = None,
) -> Filed:
    """File a new record as the actor (policy action ``file`` for its type)."""
    ctx.require("file", "record.file", record_type=record_type)
    filed = file_record(
        ctx.archive, source, record_type=record_type, year=year, actor=ctx.actor.name, title=title, filename=filename,
        retain_from=retain_from,
    )
    audit(ctx.archive, ctx.actor, "record.file", record=filed.name, version=filed.version,
          detail={"size": filed.size, "sha256": filed.sha256})
    index_filed(ctx.archive, filed.name)
    return filed


def file_new_version(
    ctx: Context, name_text: str, source: BinaryIO, *, filename: str | None, comment: str | None
) -> Filed:
    """Add a version to a record as the actor (policy action ``version``)."""
    name = parse_name(name_text)
    ctx.require("version", "record.version", record_type=name.type, record_name=str(name))
    filed = file_version(ctx.archive, str(name), source, actor=ctx.actor.name, filename=filename, comment=comment)
    audit(ctx.archive, ctx.actor, "record.version", record=filed.name, version=filed.version,
          detail={"size": filed.size, "sha256": filed.sha256})
    with ctx.archive.catalog.read() as session:
        held = active_hold(session, filed.name) is not None
    if held:
        set_storage_hold(ctx.archive, filed.name, True)
    index_filed(ctx.archive, filed.name)
    return filed


def open_version(ctx: Context, name_text: str, version: int | None = None) -> tuple[VersionRef, Iterator[bytes]]:
    """Authorise and record a read, then return the version and its (checked) plaintext stream.

    The read is recorded before the first byte leaves, so an interrupted download is still
    on the record.
    """
    name = parse_name(name_text)
    ctx.require("read", "record.read", record_type=name.type, record_name=str(name), version=version)
    ref = resolve(ctx.archive, str(name), version)
    audit(ctx.archive, ctx.actor, "record.read", record=ref.name, version=ref.version, detail={"size": ref.size})
    return ref, read_version(ctx.archive, ref)


def show(ctx: Context, name_text: str) -> tuple[RecordView, list[VersionView]]:
    """A record's metadata and version history (policy action ``view``; recorded)."""
    name = parse_name(name_text)
    ctx.require("view", "record.view", record_type=name.type, record_name=str(name))
    with ctx.archive.catalog.read() as session:
        view, history = describe(session, str(name))
    audit(ctx.archive, ctx.actor, "record.view", record=view.name)
    return view, history


def listing(
    ctx: Context, *, record_type: str | None = None, year: int | None = None, include_all: bool = False
) -> list[RecordView]:
    """Records by name; the title is shown only where the actor may view the record."""
    ctx.require("list", "record.list")
    with ctx.archive.catalog.read() as session:
        views = list_records(session, record_type=record_type, year=year, include_all=include_all)
        return [
            view if ctx.policy.allows(session, ctx.actor, "view", record_type=view.type, record_name=view.name)
            else replace(view, title=None)
            for view in views
        ]
