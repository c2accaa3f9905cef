"""The ``strongroom`` command line."""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import click

from commands import access, audit, backup, paperwork, retention, search, service
from commands.common import (
    State,
    actor_option,
    add_global_options,
    check_summary,
    json_option,
    operator_actor,
    pass_state,
    print_json,
    progress,
    root_options,
    storage_options,
)
from errors import StrongroomError, UsageError
from naming import InvalidName

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")


class StrongroomGroup(click.Group):
    """A click group that turns every failure into one line on stderr and an exit status."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        state = kwargs.setdefault("obj", State())  # the running command's state, set by the global options
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            _fail("interrupted", 130)
        except click.exceptions.NoArgsIsHelpError as exc:  # a bare group: its help, as asked for
            click.echo(exc.format_message(), err=True)
            sys.exit(2)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx else "strongroom"
            _fail(f"{exc.format_message()} (see '{command} --help')", 2, prefix=command)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except InvalidName as exc:
            _fail(str(exc), 2)
        except StrongroomError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(1)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: log, one line, no traceback
            where = _log_internal_error(exc, state.home)
            _fail(f"internal error ({type(exc).__name__}); details in {where}", 1)


def _fail(message: str, code: int, prefix: str = "strongroom") -> None:
    click.echo(f"{prefix}: error: {message}", err=True)
    sys.exit(code)


def _log_internal_error(exc: BaseException, home: Path) -> str:
    logs = home / "logs"
    try:
        logs.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = logs / "strongroom.log"
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{datetime.now(UTC).isoformat()} internal error\n")
            log.write("".join(traceback.format_exception(exc)))
        return str(path)
    except OSError:
        return "(log not writable)"


@click.group(cls=StrongroomGroup, context_settings=CONTEXT_SETTINGS)
@root_options
@click.version_option(package_name="strongroom")
@click.pass_context
def main(ctx: click.Context, home: str | None, server: str | None, ca_cert: str | None, actor: str | None) -> None:
    """Strongroom: a compliance archive of encrypted, versioned records.

    Records are filed under names YEAR-NUMBER-TYPE (e.g. 2026-0007-contract), encrypted
    before they leave this process, and stored in S3-compatible storage. Start with
    'strongroom init', then 'strongroom put FILE --type contract'.

    The options --home, --server, --ca-cert and --as go before the command's name or after it
    (where they win), on every command.

    Exit status: 0 success, 1 failure, 2 usage error, 3 not permitted.
    """
    from config.home import resolve_home

    given = click.ParameterSource.COMMANDLINE
    state = ctx.ensure_object(State)
    state.use_options(resolve_home(home), server or None, ca_cert, actor,
                      server_given=ctx.get_parameter_source("server") is given,
                      actor_given=ctx.get_parameter_source("actor") is given)
    ctx.call_on_close(state.close)
    logging.getLogger("alembic").setLevel(logging.WARNING)


@main.command()
@storage_options
@pass_state
def init(state: State, external: Any) -> None:
    """Create the home directory: configuration, S3 credentials, keyring and catalog.

    Safe to run again: it only creates what is missing and never replaces keys.
    Without --s3-endpoint, storage is an embedded SeaweedFS on 127.0.0.1 with
    free ports and generated credentials.
    """
    from bootstrap.home import init_home

    report = init_home(state.host_home, external)
    click.echo(f"home: {report.home}")
    for item in report.created:
        click.echo(f"  created {item}")
    for item in report.kept:
        click.echo(f"  kept    {item}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)


@main.group()
def storage() -> None:
    """Run and inspect the embedded S3 storage (SeaweedFS on 127.0.0.1)."""


def _embedded(state: State) -> Any:
    from config.settings import load_settings
    from storage.embedded import EmbeddedServer

    settings = load_settings(state.host_home)
    if not settings.is_embedded:
        raise UsageError(f"storage is external ({settings.storage.endpoint}); nothing to start or stop here")
    return EmbeddedServer(settings)


@storage.command("start")
@click.option("--foreground", is_flag=True, help="Stay in the foreground; Ctrl-C stops storage cleanly.")
@pass_state
def storage_start(state: State, foreground: bool) -> None:
    """Start embedded storage (in the background unless --foreground)."""
    server = _embedded(state)
    if foreground:
        def ready() -> None:
            click.echo(f"storage: SeaweedFS S3 on {server.endpoint} (logs: {server.log_path}); Ctrl-C stops it")
            click.echo(f"home: {state.home}; file records from another terminal with "
                       "'strongroom put FILE --type contract'")

        def stopping() -> None:
            click.echo("storage: stopping (SeaweedFS may take up to 20 s to shut down cleanly)")

        server.run_foreground(ready, stopping)
        click.echo("storage: stopped")
        return
    started = server.start()
    click.echo(f"storage: {'started' if started else 'already running'} on {server.endpoint} (pid {server.pid()})")


@storage.command("stop")
@pass_state
def storage_stop(state: State) -> None:
    """Stop embedded storage."""
    stopped = _embedded(state).stop()
    click.echo("storage: stopped" if stopped else "storage: not running")


@storage.command("status")
@json_option
@pass_state
def storage_status(state: State, as_json: bool) -> None:
    """Show whether storage runs and answers. Exits 1 if it does not."""
    from config.settings import load_settings

    settings = load_settings(state.host_home)
    if settings.is_embedded:
        from storage.embedded import EmbeddedServer

        status = EmbeddedServer(settings).status()
        data = {"mode": "embedded", "endpoint": status.endpoint, "running": status.running, "pid": status.pid, "ready": status.ready}
    else:
        ready = True
        try:
            state.archive.store.ping()
        except StrongroomError:
            ready = False
        data = {"mode": "external", "endpoint": settings.storage.endpoint, "running": ready, "pid": None, "ready": ready}
    data["bucket"] = settings.storage.bucket
    if data["ready"]:
        probe = state.archive.store.probe_object_lock()
        data["object_lock"] = {**probe.as_dict(), "record_versions_locked": state.archive.locks_versions}
    if as_json:
        print_json(data)
    else:
        running = "running" if data["running"] else "not running"
        click.echo(f"storage: {data['mode']} {data['endpoint']} bucket {data['bucket']}: {running}"
                   + (f" (pid {data['pid']})" if data["pid"] else "") + (", ready" if data["ready"] else ""))
        if "object_lock" in data:
            from retention.rules import lock_summary

            click.echo(lock_summary(probe.enforced, probe.detail, state.archive.locks_versions))
    if not data["ready"]:
        sys.exit(1)


def _open_source(path: str) -> tuple[BinaryIO, str | None]:
    if path == "-":
        return sys.stdin.buffer, None
    try:
        return open(path, "rb"), Path(path).name
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--type", "record_type", metavar="TYPE", help="Record type of a new record (see records.types).")
@click.option("--title", help="Title of a new record (encrypted in storage).")
@click.option("--year", type=click.IntRange(1900, 9999), help="Filing year of a new record.  [default: this year]")
@click.option("--to", "to_name", metavar="NAME", help="Add a new version to this existing record instead.")
@click.option("--comment", help="What changed (with --to).")
@click.option(
    "--retain-from", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
    help="The date the type's retention counts from, when not the filing date (e.g. a contract's end date).",
)
@actor_option
@json_option
@pass_state
def put(
    state: State,
    file: str,
    record_type: str | None,
    title: str | None,
    year: int | None,
    to_name: str | None,
    comment: str | None,
    retain_from: datetime | None,
    actor: str,
    as_json: bool,
) -> None:
    """File FILE ('-' for stdin) as a new record, or as a new version with --to.

    \b
    strongroom put deed.pdf --type contract --title "Lease, branch 3" --retain-from 2031-06-30
                                                                         ->  2026-0001-contract
    strongroom put deed-v2.pdf --to 2026-0001-contract --comment "signed" ->  2026-0001-contract v2
    """
    from naming import parse_name

    if to_name is not None:
        if record_type or title or year or retain_from:
            raise UsageError(
                "--type, --title, --year and --retain-from describe a new record; they cannot go with --to"
            )
        parse_name(to_name)
    elif record_type is None:
        raise UsageError("missing --type (or --to NAME for a new version)")
    elif comment is not None:
        raise UsageError("--comment goes with --to")
    source, filename = _open_source(file)
    try:
        backend = state.backend(actor)
        if to_name is not None:
            filed = backend.file_new_version(to_name, source, filename=filename, comment=comment)
        else:
            assert record_type is not None
            filed = backend.file_new(
                source, record_type=record_type, year=year or datetime.now().year, title=title, filename=filename,
                retain_from=retain_from.date() if retain_from else None,
            )
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    if as_json:
        print_json({"name": filed.name, "version": filed.version, "size": filed.size, "sha256": filed.sha256})
    elif filed.version == 1:
        click.echo(filed.name)
    else:
        click.echo(f"{filed.name} v{filed.version}")


@main.command()
@click.argument("name")
@click.option("--version", "version", type=click.IntRange(min=1), help="Version number.  [default: current]")
@click.option("-o", "--output", metavar="PATH|-", help="Where to write ('-' for stdout).  [default: NAME[.vN].EXT here]")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@actor_option
@pass_state
def get(state: State, name: str, version: int | None, output: str | None, force: bool, actor: str) -> None:
    """Write the exact bytes of a record version, after checking its integrity.

    Reading is recorded in the audit trail; a record you may not read is refused
    (exit 3) and the refusal is recorded too: ask with 'strongroom access request'.
    """
    from naming import parse_name

    parse_name(name)
    target = None
    if output != "-":
        target = Path(output) if output else None
        if target is not None and target.exists() and not target.is_dir() and not force:
            raise UsageError(f"{target} exists; use --force to overwrite it")
    ref, chunks = state.backend(actor).open_version(name, version)
    if output == "-":
        out = sys.stdout.buffer
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        return
    if target is None or target.is_dir():
        target = (target or Path()) / _default_output(ref.name, version, ref.filename)
    if target.exists() and not force:
        raise UsageError(f"{target} exists; use --force to overwrite it")
    _write_atomically(target, chunks)
    click.echo(f"{ref.label} -> {target}", err=True)


def _default_output(name: str, version: int | None, filename: str | None) -> str:
    suffix = Path(filename).suffix if filename else ""
    suffix = suffix if SAFE_SUFFIX.match(suffix) else ""
    return f"{name}.v{version}{suffix}" if version else f"{name}{suffix}"


def _write_atomically(target: Path, chunks: Iterator[bytes]) -> None:
    """Write to a temporary file beside ``target`` and rename it only once every check passed."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as out:
            out.writelines(chunks)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


@main.command()
@click.argument("name")
@actor_option
@json_option
@pass_state
def versions(state: State, name: str, actor: str, as_json: bool) -> None:
    """List the versions of a record: current and archived."""
    _, views = state.backend(actor).show(name)
    if as_json:
        print_json([view.__dict__ for view in views])
        return
    for view in views:
        size = f"{view.size:,}" if view.size is not None else "-"
        click.echo(f"v{view.version:<4} {view.state:<9} {view.filed_at}  {view.filed_by:<12} {size:>14} B  "
                   f"{(view.sha256 or '')[:16]}  {view.comment or ''}".rstrip())


@main.command()
@click.argument("name")
@actor_option
@json_option
@pass_state
def show(state: State, name: str, actor: str, as_json: bool) -> None:
    """Show a record's metadata, versions, and whether search indexes its text or metadata only."""
    backend = state.backend(actor)
    view, history = backend.show(name)
    indexed = backend.index_status(name) if view.state == "active" else None
    if as_json:
        print_json({**view.as_dict(), "history": [v.__dict__ for v in history],
                    "search": indexed.as_dict() if indexed else None})
        return
    click.echo(f"name:     {view.name}")
    click.echo(f"title:    {view.title or ''}")
    click.echo(f"type:     {view.type}   year: {view.year}   number: {view.number}")
    click.echo(f"state:    {view.state}" + (f" ({view.void_reason})" if view.void_reason else ""))
    click.echo(f"filed:    {view.created_at} by {view.created_by}")
    if indexed is not None:
        click.echo(f"search:   {indexed.describe()}")
    for v in history:
        click.echo(f"  v{v.version} {v.state:<8} {v.filed_at} by {v.filed_by}, {v.size or 0:,} bytes, "
                   f"sha256 {v.sha256}" + (f", {v.comment}" if v.comment else ""))


@main.command("ls")
@click.option("--type", "record_type", metavar="TYPE", help="Only this record type.")
@click.option("--year", type=click.IntRange(1900, 9999), help="Only this filing year.")
@click.option("--all", "include_all", is_flag=True, help="Include void and pending numbers.")
@actor_option
@json_option
@pass_state
def list_command(
    state: State, record_type: str | None, year: int | None, include_all: bool, actor: str, as_json: bool
) -> None:
    """List records (titles only of records you may view)."""
    views = state.backend(actor).listing(record_type=record_type, year=year, include_all=include_all)
    if as_json:
        print_json([view.as_dict() for view in views])
        return
    for view in views:
        if view.state == "active":
            click.echo(f"{view.name:<24} v{view.current_version:<3} {view.created_at[:10]}  {view.title or ''}".rstrip())
        else:
            click.echo(f"{view.name:<24} {view.state.upper():<4} {view.void_reason or ''}".rstrip())


@main.command()
@click.argument("name", required=False)
@json_option
@pass_state
def verify(state: State, name: str | None, as_json: bool) -> None:
    """Read back and check every stored version (of NAME, or of the whole archive), and the bucket around them.

    \b
    damaged     the stored bytes are wrong (authentication, checksum or size) or gone
    unreadable  the storage answers but cannot deliver that object, or no key opens it
    missing     a void or disposed record's number marker (numbers/NAME) is not in the
                bucket: run 'strongroom repair'
    foreign     an object version or delete marker under the record keys (numbers/ too)
                that the archive did not write (put there with the S3 credentials)

    Every void or disposed record's marker is checked too (damaged, unreadable or missing).
    One line per problem, then a summary. Exits 1 on any problem; an unreachable storage
    stops the check (exit 1).
    """
    from archive.reading import verify_archive

    with progress("verifying", not as_json) as (start, step):
        report = verify_archive(state.archive, name, start, step)
    if as_json:
        print_json(report.as_dict())
    else:
        for problem in report.problems:
            click.echo(problem.error)
        for finding in report.foreign:
            click.echo(finding.line)
        click.echo(check_summary(report.checked, "version", report.counts(), (report.markers, "number marker")))
    if not report.ok:
        sys.exit(1)


@main.command()
@click.option("--force", is_flag=True, help="Also resolve filings whose writer cannot be checked (another host).")
@json_option
@pass_state
def repair(state: State, force: bool, as_json: bool) -> None:
    """Finish or undo filings left pending by a process that died; write missing number markers.

    A pending upload that reached the bucket whole is completed; otherwise a new
    record's number is kept as void (with the reason) and a new version is dropped.
    Filings still running in a live process are left alone. Every void or disposed
    record whose marker (numbers/NAME) is not in the bucket gets one.
    """
    from archive.repair import repair as repair_pending

    actions = repair_pending(state.archive, force=force)
    if as_json:
        print_json([action.__dict__ for action in actions])
        return
    for action in actions:
        label = action.name if action.version is None else f"{action.name} v{action.version}"
        click.echo(f"{label}: {action.action} - {action.detail}")
    examined = sum(action.version is not None for action in actions)
    click.echo(f"repair: {examined} pending filing(s) examined, {len(actions) - examined} number marker(s) written")


@main.group()
def catalog() -> None:
    """Maintain the catalog database."""


@catalog.command("rebuild")
@click.option("--replace", is_flag=True, help="Replace a non-empty catalog (a SQLite catalog is copied aside first).")
@json_option
@pass_state
def catalog_rebuild(state: State, replace: bool, as_json: bool) -> None:
    """Reconstruct the catalog from the bucket and the keyring alone.

    Only object versions that authenticate from end to end and whose sealed metadata
    names the record (and version) of their key are used; every other version is listed
    as forged (one line each, on stderr) and ignored. Void and disposed numbers come back
    from their number markers, so no name is issued twice. An object the storage cannot
    deliver is listed as unreadable, with what its record may lack, and the rebuild goes
    on (exit 1): a record none of whose objects can be read comes back void, keeping its
    number.
    """
    from archive.rebuild import backup_catalog, rebuild

    archive = state.archive
    saved = backup_catalog(archive) if replace else None
    with progress("reading objects", not as_json) as (start, step):
        report = rebuild(archive, replace=replace, on_start=start, on_progress=step)
    data = {**report.as_dict(), "previous_catalog": saved}
    if as_json:
        print_json(data)
    else:
        if saved:
            click.echo(f"previous catalog copied to {saved}")
        for label, items in (("forged", report.forged), ("skipped", report.skipped),
                             ("unreadable", report.unreadable), ("incomplete", report.incomplete)):
            for item in items:
                click.echo(f"{label} {item}", err=True)
        click.echo(
            f"rebuilt catalog: {report.records} record(s), {report.versions} version(s), {report.voids} void "
            f"number(s), {report.disposed} disposed from {report.objects} object version(s); "
            f"{len(report.forged)} forged or foreign version(s) ignored, {len(report.skipped)} skipped, "
            f"{len(report.unreadable)} unreadable"
        )
    if report.unreadable:
        sys.exit(1)


@main.group()
def keys() -> None:
    """Manage the Fernet keyring (keys are never printed)."""


@keys.command("list")
@json_option
@pass_state
def keys_list(state: State, as_json: bool) -> None:
    """List keys, newest (primary) first, with how many versions and number markers each encrypts."""
    from archive.rotation import key_usage, marker_usage

    archive = state.archive
    usage = key_usage(archive)
    sealing, unknown = marker_usage(archive)
    rows = [
        {"id": entry.id, "created": entry.created, "primary": index == 0, "versions": usage.get(entry.id, 0),
         "markers": sealing.get(entry.id, 0)}
        for index, entry in enumerate(archive.keyring.entries)
    ]
    if unknown:
        click.echo(f"{len(unknown)} number marker(s) cannot be read, so their key is unknown ({', '.join(unknown)}): "
                   "see 'strongroom verify'", err=True)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['id']}  {row['created']}  {row['versions']:>6} version(s)  {row['markers']:>4} marker(s)"
                   + ("  primary" if row["primary"] else ""))


@keys.command("rotate")
@json_option
@pass_state
def keys_rotate(state: State, as_json: bool) -> None:
    """Add a new key and re-encrypt every stored object (and number marker) with it.

    If an earlier rotation was interrupted, this resumes it instead of adding
    another key. Old keys stay in the keyring until 'keys retire'. A version that is
    damaged or unreadable is one line, stays under its old key, and the rotation goes
    on with the others (exit 1): restore it, then run 'keys rotate' again to finish.
    """
    from archive.rotation import rotate
    from audit.trail import record as audit

    with progress("re-encrypting", not as_json) as (start, step):
        report = rotate(state.archive, on_start=start, on_progress=step)
    audit(state.archive, operator_actor(), "keys.rotate",
          detail={"key": report.key_id, "added": report.added, "reencrypted": report.reencrypted,
                  "failed": [problem.error for problem in report.failed]})
    if as_json:
        print_json(report.as_dict())
    else:
        for problem in report.failed:
            click.echo(f"not re-encrypted: {problem.error}")
        verb = "added key" if report.added else "resumed rotation to key"
        click.echo(f"{verb} {report.key_id}; re-encrypted {report.reencrypted} version(s) "
                   f"and {report.markers} number marker(s)"
                   + (f"; {len(report.failed)} not re-encrypted (they keep their old key): restore them, then "
                      "run 'strongroom keys rotate' again to finish" if report.failed else ""))
    if report.failed:
        sys.exit(1)


@keys.command("retire")
@json_option
@pass_state
def keys_retire(state: State, as_json: bool) -> None:
    """Remove older keys that no stored version needs any more."""
    from archive.rotation import retire
    from audit.trail import record as audit

    retired = retire(state.archive)
    audit(state.archive, operator_actor(), "keys.retire", detail={"keys": [entry.id for entry in retired]})
    if as_json:
        print_json([entry.id for entry in retired])
        return
    for entry in retired:
        click.echo(f"retired key {entry.id}")
    click.echo(f"retired {len(retired)} key(s)")


for _command in (service.serve, service.login, service.logout, service.passwd, service.whoami, service.user,
                 access.access, audit.audit, backup.backup, paperwork.template, paperwork.meeting,
                 paperwork.compliance, search.search, retention.retention, retention.hold, retention.rm):
    main.add_command(_command)
audit.audit.add_command(search.audit_sample)
keys.add_command(backup.keys_export)
keys.add_command(backup.keys_import)
add_global_options(main)

if __name__ == "__main__":
    main()
