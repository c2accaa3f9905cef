"""The CLI's in-process backend: the same calls as :class:`client.remote.RemoteArchive`, on the home directory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, BinaryIO

from access.grants import GrantView
from access.requests import RequestView
from archive.filing import Filed
from archive.reading import VersionRef
from archive.records import RecordView, VersionView
from audit.trail import Event
from audit.verify import AuditReport
from operations import access, records, retention
from operations.context import Context
from retention.disposal import Certificate, DisposalView
from retention.holds import HoldView
from retention.status import RetentionView
from search.results import AuditSample, IndexStatus, SearchResults


class LocalArchive:
    """Runs each request through :mod:`operations` as the local actor."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def close(self) -> None:
        """Nothing to release: the archive is closed with the command."""

    def file_new(
        self, source: BinaryIO, *, record_type: str, year: int, title: str | None, filename: str | None,
        retain_from: date | None = None,
    ) -> Filed:
        return records.file_new(self.ctx, source, record_type=record_type, year=year, title=title, filename=filename,
                                retain_from=retain_from)

    def file_new_version(self, name: str, source: BinaryIO, *, filename: str | None, comment: str | None) -> Filed:
        return records.file_new_version(self.ctx, name, source, filename=filename, comment=comment)

    def open_version(self, name: str, version: int | None = None) -> tuple[VersionRef, Iterator[bytes]]:
        return records.open_version(self.ctx, name, version)

    def show(self, name: str) -> tuple[RecordView, list[VersionView]]:
        return records.show(self.ctx, name)

    def listing(self, *, record_type: str | None = None, year: int | None = None, include_all: bool = False) -> list[RecordView]:
        return records.listing(self.ctx, record_type=record_type, year=year, include_all=include_all)

    def request(self, name: str, reason: str, days: int | None, purpose: str) -> RequestView:
        return access.request(self.ctx, name, reason, days, purpose)

    def mine(self) -> list[RequestView]:
        return access.mine(self.ctx)

    def pending(self) -> list[RequestView]:
        return access.pending(self.ctx)

    def approve(self, request_id: int, days: int | None) -> GrantView:
        return access.approve(self.ctx, request_id, days)

    def deny(self, request_id: int, reason: str) -> RequestView:
        return access.deny(self.ctx, request_id, reason)

    def revoke(self, grant_id: int) -> GrantView:
        return access.revoke(self.ctx, grant_id)

    def list_grants(self, *, include_inactive: bool) -> list[GrantView]:
        return access.list_grants(self.ctx, include_inactive=include_inactive)

    def retention_show(self, name: str) -> RetentionView:
        return retention.show(self.ctx, name)

    def retention_due(self) -> list[RetentionView]:
        return retention.due(self.ctx)

    def retention_trigger(self, name: str, day: date, reason: str) -> RetentionView:
        return retention.set_trigger(self.ctx, name, day, reason)

    def retention_dispose(self, names: list[str], reason: str) -> DisposalView:
        return retention.dispose(self.ctx, names, reason)

    def retention_requests(self, *, pending_only: bool) -> list[DisposalView]:
        return retention.requests(self.ctx, pending_only=pending_only)

    def retention_approve(self, request_id: int) -> DisposalView:
        return retention.approve(self.ctx, request_id)

    def retention_deny(self, request_id: int, reason: str) -> DisposalView:
        return retention.deny(self.ctx, request_id, reason)

    def retention_certificate(self, name: str) -> Certificate:
        return retention.certificate(self.ctx, name)

    def hold_place(self, name: str, reason: str) -> HoldView:
        return retention.hold_place(self.ctx, name, reason)

    def hold_release(self, name: str, reason: str | None) -> HoldView:
        return retention.hold_release(self.ctx, name, reason)

    def hold_list(self, *, include_released: bool) -> list[HoldView]:
        return retention.hold_list(self.ctx, include_released=include_released)

    def delete(self, name: str) -> None:
        retention.delete(self.ctx, name)

    def audit_log(self, **filters: Any) -> list[Event]:
        return access.audit_log(self.ctx, **filters)

    def audit_verify(self) -> AuditReport:
        return access.audit_verify(self.ctx)

    def search(
        self, query: str, *, record_type: str | None = None, year: int | None = None, date_from: date | None = None,
        date_to: date | None = None, limit: int = 20, all_versions: bool = False,
    ) -> SearchResults:
        from operations import (
            search,  # Whoosh and the analyzer load only for the commands that search
        )

        return search.search(self.ctx, query, record_type=record_type, year=year, date_from=date_from,
                             date_to=date_to, limit=limit, all_versions=all_versions)

    def index_status(self, name: str) -> IndexStatus:
        from operations import search

        return search.index_status(self.ctx, name)

    def audit_sample(self, record_type: str, quarter: str, n: int, seed: str | None) -> AuditSample:
        from operations import search

        return search.audit_sample(self.ctx, record_type, quarter, n, seed)
