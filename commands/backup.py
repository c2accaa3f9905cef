"""``strongroom backup …`` and ``strongroom keys export|import``: full snapshots, verify, restore, prune.

Operator commands: they act with the home directory's authority and are recorded in
the audit trail as ``backup.run``, ``backup.verify``, ``backup.restore``,
``backup.prune`` and ``keys.export``.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from commands.common import (
    State,
    check_summary,
    counted_progress,
    json_option,
    operator_actor,
    pass_state,
    print_json,
    progress,
    storage_options,
)
from errors import StrongroomError, UsageError

if TYPE_CHECKING:
    from archive.service import Archive
    from backup.target_config import ConfiguredTarget
    from backup.targets import Target
    from config.settings import Settings

PASSPHRASE_ENV = "STRONGROOM_KEYS_PASSPHRASE"


def target_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--target", "target_name", metavar="NAME", help="Backup target.  [default: backup.default_target, 'local']"
    )(func)


def _size(amount: float) -> str:
    unit = "B"
    for larger in ("KiB", "MiB", "GiB"):
        if amount < 1024:
            break
        amount, unit = amount / 1024, larger
    return f"{amount:.0f} B" if unit == "B" else f"{amount:.1f} {unit}"


def _audit(archive: Archive, action: str, outcome: str = "ok", **fields: Any) -> None:
    from audit.trail import record

    record(archive, operator_actor(), action, outcome=outcome, **fields)


@contextmanager
def _audited_failure(archive: Archive, action: str, detail: dict[str, object]) -> Iterator[None]:
    """Record a failed operation in the audit trail (best effort), then let the error through."""
    try:
        yield
    except StrongroomError as exc:
        try:
            _audit(archive, action, "failed", detail={**detail, "error": str(exc)})
        except StrongroomError:
            pass
        raise


def _open(settings: Settings, target_name: str | None) -> tuple[ConfiguredTarget, Target]:
    from backup.target_config import choose_target, open_target

    configured = choose_target(settings, target_name)
    return configured, open_target(settings, configured)


@click.group()
def backup() -> None:
    """Full, deduplicated backups of the archive: run, list, verify, restore, prune.

    \b
    strongroom backup run --if-due             (daily from cron: a snapshot once a week)
    strongroom backup list
    strongroom backup verify --read-data-subset 10%
    strongroom backup restore latest --home /srv/strongroom --from /mnt/nas/strongroom --keys escrow.json
    strongroom backup prune --keep-weekly 8 --keep-monthly 24
    """


@backup.command("run")
@target_option
@click.option("--if-due", is_flag=True, help="Only if the newest snapshot is older than backup.interval_days.")
@json_option
@pass_state
def run(state: State, target_name: str | None, if_due: bool, as_json: bool) -> None:
    """Take a full snapshot: every stored object version as stored, the catalog and the audit trail.

    Content the target already holds is not copied again. Prints one summary line;
    exit 0 on success or when not due, 1 on failure.
    """
    from archive.service import utcnow
    from backup.layout import snapshot_time
    from backup.lock import backup_lock
    from backup.repository import newest_manifest
    from backup.schedule import is_due, next_due
    from backup.sealing import keys_of
    from backup.snapshot import run_backup

    archive = state.archive
    settings = archive.settings
    failure = _audited_failure(archive, "backup.run", {"target": target_name or settings.backup.default_target})
    with failure, backup_lock(settings):
        configured, target = _open(settings, target_name)
        if if_due:
            newest = newest_manifest(target, keys_of(archive.keyring))
            last = snapshot_time(newest.snapshot) if newest else None
            due = next_due(last, settings.backup.interval_days)
            if newest is not None and due is not None and not is_due(last, utcnow(), settings.backup.interval_days):
                _not_due(configured.name, newest.snapshot, due, as_json)
                return
        with progress("backing up", not as_json) as (start, step):
            report = run_backup(archive, configured.name, target, on_start=start, on_progress=step)
    _audit(archive, "backup.run", detail={
        "target": configured.name, "snapshot": report.snapshot, "objects": report.objects,
        "copied": report.copied, "copied_bytes": report.copied_bytes,
    })
    if as_json:
        print_json({"due": True, **report.as_dict()})
        return
    click.echo(
        f"backup: snapshot {report.snapshot} complete in target '{report.target}': {report.objects} object(s), "
        f"{_size(report.stored_bytes)}; {report.copied} new and the catalog copied ({_size(report.copied_bytes)}), "
        f"{report.objects - report.copied} already there; {report.seconds:.1f} s"
    )


def _not_due(target: str, newest: str, due: datetime, as_json: bool) -> None:
    if as_json:
        print_json({"due": False, "target": target, "newest": newest, "next_due": due.isoformat()})
    else:
        click.echo(f"backup: not due (newest snapshot {newest} in target '{target}'; "
                   f"next due {due:%Y-%m-%d %H:%M} UTC)")


@backup.command("list")
@target_option
@json_option
@pass_state
def list_snapshots(state: State, target_name: str | None, as_json: bool) -> None:
    """List the complete snapshots in a target, oldest first."""
    from backup.repository import load_all
    from backup.sealing import keys_of

    archive = state.archive
    configured, target = _open(archive.settings, target_name)
    manifests, unreadable = load_all(target, keys_of(archive.keyring))
    if as_json:
        print_json({"target": configured.name, "snapshots": [m.summary() for m in manifests],
                    "unreadable": [u.__dict__ for u in unreadable]})
        return
    for m in manifests:
        click.echo(f"{m.snapshot}  {m.started[:19].replace('T', ' ')}  {m.counts['records']:>6} record(s) "
                   f"{m.counts['versions']:>7} version(s)  {_size(m.stored_bytes):>10}  audit to event {m.audit_head}")
    for u in unreadable:
        click.echo(f"{u.snapshot}  does not open: {u.problem}")
    click.echo(f"{len(manifests)} snapshot(s) in target '{configured.name}' ({configured.location})")


def _fraction(read_data: bool, subset: str | None) -> float:
    if read_data and subset:
        raise UsageError("--read-data and --read-data-subset are alternatives")
    if subset is None:
        return 1.0 if read_data else 0.0
    text = subset.strip().removesuffix("%")
    try:
        percent = float(text)
    except ValueError:
        raise UsageError(f"--read-data-subset wants a percentage such as 10%, not {subset!r}") from None
    if not 0 < percent <= 100:
        raise UsageError("--read-data-subset must be more than 0% and at most 100%")
    return percent / 100


@backup.command("verify")
@click.argument("snapshot", required=False)
@target_option
@click.option("--read-data", is_flag=True, help="Read back every blob and check its SHA-256.")
@click.option("--read-data-subset", metavar="PERCENT", help="Read back a random share of the blobs, e.g. 10%.")
@json_option
@pass_state
def verify(state: State, snapshot: str | None, target_name: str | None, read_data: bool,
           read_data_subset: str | None, as_json: bool) -> None:
    """Check SNAPSHOT (or every snapshot): manifests, presence and size of blobs, optionally their content.

    \b
    damaged     a blob is missing, of the wrong size or its bytes are wrong
    unreadable  the target answers but cannot deliver a blob, or no key opens it

    One line per problem, then a summary. Exits 1 if anything is damaged, unreadable or
    a manifest does not open; an unreachable target stops the check (exit 1).
    """
    from backup.repository import resolve_snapshot
    from backup.sealing import keys_of
    from backup.verify import verify_snapshots

    fraction = _fraction(read_data, read_data_subset)
    archive = state.archive
    configured, target = _open(archive.settings, target_name)
    ids = [resolve_snapshot(target, snapshot)] if snapshot else None
    with progress("reading back", not as_json) as (start, step):
        report = verify_snapshots(target, keys_of(archive.keyring), ids, read_fraction=fraction,
                                  threads=archive.settings.backup.threads, on_start=start, on_progress=step)
    _audit(archive, "backup.verify", "ok" if report.ok else "failed", detail={
        "target": configured.name, "snapshots": len(report.snapshots), "read": report.read,
        "problems": len(report.problems) + len(report.unreadable),
    })
    if as_json:
        print_json({"target": configured.name, **report.as_dict()})
    else:
        for problem in report.problems:
            click.echo(f"{problem.what}: blob {problem.blob[:16]} {problem.problem} "
                       f"(needed by {', '.join(problem.snapshots[:3])}"
                       f"{' and more' if len(problem.snapshots) > 3 else ''})")
        for line in report.unreadable:
            click.echo(f"snapshot {line}")
        unopened = f"; {len(report.unreadable)} more do not open" if report.unreadable else ""
        click.echo(f"{check_summary(report.blobs, 'blob', report.counts())} "
                   f"(of {len(report.snapshots)} snapshot(s){unopened}; "
                   f"read back {report.read}, {_size(report.read_bytes)})")
    if not report.ok:
        sys.exit(1)


def _target_credentials(func: Callable[..., Any]) -> Callable[..., Any]:
    """An S3 target's own keys, passed on as ``credentials`` (None: the archive's own S3 credentials)."""

    @functools.wraps(func)
    def with_credentials(*args: Any, access_key: str | None, secret_key: str | None, **kwargs: Any) -> Any:
        from config.settings import S3Credentials

        credentials = None
        if access_key:
            secret_key = secret_key or click.prompt("S3 secret key of the target", hide_input=True)
            credentials = S3Credentials(access_key, secret_key or "")
        elif secret_key:
            raise UsageError("--secret-key goes with --access-key")
        return func(*args, credentials=credentials, **kwargs)

    with_credentials = click.option(
        "--secret-key", envvar="STRONGROOM_BACKUP_SECRET_KEY", help="S3 secret key (prompted if missing)."
    )(with_credentials)
    return click.option(
        "--access-key", envvar="STRONGROOM_BACKUP_ACCESS_KEY",
        help="S3 access key of the target.  [default: the archive's own S3 credentials]",
    )(with_credentials)


@backup.command("restore")
@click.argument("snapshot")
@target_option
@click.option("--from", "location", metavar="URL|DIR",
              help="Where the backup is, when no target of this home names it (a new home): "
                   "https://host[:port]/bucket[/prefix] or a directory.")
@_target_credentials
@click.option("--keys", "escrow", type=click.Path(dir_okay=False, exists=True, path_type=Path), metavar="FILE",
              help="The keyring export ('keys export'): import it into the home, which must be new or empty, and "
                   "initialise it (with the storage options below) before restoring.")
@storage_options
@click.option("--record", "record_name", metavar="NAME", help="Bring back just this record into the live archive.")
@click.option("--version", type=click.IntRange(min=1), help="With --record: just this version.")
@json_option
@pass_state
def restore(state: State, snapshot: str, target_name: str | None, location: str | None, credentials: Any,
            escrow: Path | None, external: Any, record_name: str | None, version: int | None, as_json: bool) -> None:
    """Restore SNAPSHOT ('latest', an id or a unique prefix of one) into the home.

    \b
    Disaster recovery (or a drill), into a new home and a new, empty bucket:
      strongroom backup restore latest --home NEW --from URL|DIR --keys escrow.json
                                       [--s3-endpoint URL --bucket NAME ...]
    The keyring is imported, the home initialised, every version restored, read back and
    checked, the audit trail verified and the search index rebuilt.

    \b
    One record (versions lost or damaged in the bucket) into the live archive:
      strongroom backup restore ID --record 2026-0001-contract [--version 2]
    """
    if version is not None and record_name is None:
        raise UsageError("--version goes with --record")
    if location and target_name:
        raise UsageError("--from and --target are alternatives (where the backup is, or the name of its target)")
    if record_name is not None:
        if escrow is not None or external is not None:
            raise UsageError("--record restores into the live archive; --keys and --s3-endpoint make a new home")
        _restore_record(state, snapshot, _source(state, target_name, location, credentials), record_name, version,
                        as_json)
        return
    if external is not None and escrow is None:
        raise UsageError("--s3-endpoint and the other storage options go with --keys (a new home is initialised)")
    _prepare_home(state, escrow, external, location is not None, as_json)
    _restore_home(state, snapshot, _source(state, target_name, location, credentials), as_json)


def _prepare_home(state: State, escrow: Path | None, external: Any, located: bool, as_json: bool) -> None:
    """With --keys, the escrowed keyring into a new home and 'init'; without, the home must be one already."""
    from backup.escrow import is_protected, read_export
    from bootstrap.home import prepare_home
    from config.settings import CONFIG_FILE

    home = state.host_home
    initialised = (home / CONFIG_FILE).exists()
    if escrow is None:
        if not initialised:
            raise UsageError(f"{home} is not a Strongroom home: to make it one and restore into it, "
                             "give the keyring export with --keys FILE")
        return
    if not located and not initialised:
        raise UsageError("a new home has no backup targets: say where the backup is with --from URL|DIR")
    data = _read(escrow)
    keys = read_export(data, _passphrase(confirm=False) if is_protected(data) else None)
    if prepare_home(home, keys, external) and not as_json:
        click.echo(f"imported {len(keys)} key(s) from {escrow} and initialised {home}")


def _source(state: State, target_name: str | None, location: str | None, credentials: Any
            ) -> tuple[ConfiguredTarget, Target]:
    """The target to restore from: at ``--from``, else the home's target called ``--target`` (or the default)."""
    from backup.target_config import target_at
    from config.settings import load_settings

    settings = load_settings(state.host_home)
    if location:
        return target_at(settings, location, credentials)
    if credentials is not None:
        raise UsageError("--access-key goes with --from (a configured target keeps its own keys)")
    return _open(settings, target_name)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _restore_record(state: State, snapshot: str, source: tuple[ConfiguredTarget, Target], name: str,
                    version: int | None, as_json: bool) -> None:
    from backup.repository import load_manifest, resolve_snapshot
    from backup.restore import restore_record
    from backup.sealing import keys_of
    from naming import parse_name

    parse_name(name)
    archive = state.archive
    configured, target = source
    manifest = load_manifest(target, resolve_snapshot(target, snapshot), keys_of(archive.keyring))
    results = restore_record(archive, target, manifest, name, version)
    for result in results:
        if result.action == "restored":
            _audit(archive, "backup.restore", record=result.name, version=result.version,
                   detail={"target": configured.name, "snapshot": manifest.snapshot, "replaced": result.replaced})
    if as_json:
        print_json({"snapshot": manifest.snapshot, "versions": [r.as_dict() for r in results]})
        return
    for result in results:
        click.echo(f"{result.name} v{result.version}: {result.action} ({result.detail})")


def _restore_home(state: State, snapshot: str, source: tuple[ConfiguredTarget, Target], as_json: bool) -> None:
    from archive.reading import stored_versions
    from archive.reading import verify as verify_versions
    from archive.service import utcnow
    from audit.verify import verify_audit
    from backup.lock import backup_lock
    from backup.repository import load_manifest, resolve_snapshot
    from backup.restore import pending_filings, restore_archive
    from backup.sealing import keys_of
    from retention.apply import extend_locks

    configured, target = source
    destination = state.archive
    with backup_lock(destination.settings):
        manifest = load_manifest(target, resolve_snapshot(target, snapshot), keys_of(destination.keyring))
        with progress("restoring", not as_json) as (start, step):
            report = restore_archive(destination, target, manifest, on_start=start, on_progress=step)
    state.reopen()
    restored = state.archive
    locked = extend_locks(restored, utcnow())
    refs = stored_versions(restored)
    with progress("verifying", not as_json) as (start, step):
        start(len(refs))
        problems = verify_versions(restored, refs, step)
    trail = verify_audit(restored, probe_lock=False)
    _audit(restored, "backup.restore", "ok" if not problems and trail.ok else "failed", detail={
        "target": configured.name, "snapshot": manifest.snapshot, "objects": report.objects,
        "problems": len(problems), "audit_ok": trail.ok, "versions_locked": locked,
    })
    pending = pending_filings(restored)
    indexed, index_problem = _reindex(restored, as_json)
    if as_json:
        print_json({**report.as_dict(), "versions_locked": locked, "verified": len(refs),
                    "problems": [p.__dict__ for p in problems], "audit": trail.as_dict(),
                    "search_indexed": indexed, "search_problem": index_problem, "pending": pending})
    else:
        for problem in problems:
            click.echo(problem.error)
        if not trail.ok:
            click.echo(f"audit trail: {trail.problem}")
        click.echo(
            f"restored snapshot {manifest.snapshot} into {report.home}: {report.records} record(s), {report.versions} "
            f"version(s) ({locked} write-once again), {report.checkpoints} audit checkpoint(s); "
            f"read back {len(refs)} version(s): "
            f"{len(problems)} problem(s); audit trail {'verified' if trail.ok else 'FAILED'}"
        )
        if index_problem is None:
            click.echo(f"search index rebuilt: {indexed} version(s)")
    if pending:
        click.echo(f"note: {len(pending)} filing(s) were in progress when the snapshot was taken "
                   f"({', '.join(pending[:3])}{' …' if len(pending) > 3 else ''}); their writers ran on the "
                   "old host: finish or undo them with 'strongroom repair --force'", err=True)
    if index_problem is not None:
        click.echo(f"strongroom: the search index was not rebuilt ({index_problem}); "
                   "run 'strongroom search reindex'", err=True)
    if problems or not trail.ok or index_problem is not None:
        sys.exit(1)


def _reindex(archive: Archive, as_json: bool) -> tuple[int, str | None]:
    """Rebuild the restored home's search index (it is never in a backup): versions indexed, or the problem."""
    from operations.search import reindex

    with counted_progress("indexing", not as_json) as on_progress:
        try:
            report = reindex(archive, operator_actor(), on_progress)
        except StrongroomError as exc:
            return 0, str(exc)
    return report.added, None


@backup.command("prune")
@target_option
@click.option("--keep-weekly", type=click.IntRange(min=0), required=True, metavar="N",
              help="Keep the newest snapshot of each of the last N weeks that have one.")
@click.option("--keep-monthly", type=click.IntRange(min=0), required=True, metavar="M",
              help="Keep the newest snapshot of each of the last M months that have one.")
@click.option("--dry-run", is_flag=True, help="Only say what would be dropped.")
@json_option
@pass_state
def prune(state: State, target_name: str | None, keep_weekly: int, keep_monthly: int, dry_run: bool,
          as_json: bool) -> None:
    """Drop old snapshots and the content no kept snapshot needs; the newest snapshot always stays."""
    from backup.lock import backup_lock
    from backup.prune import prune as prune_target
    from backup.sealing import keys_of

    archive = state.archive
    with backup_lock(archive.settings):
        configured, target = _open(archive.settings, target_name)
        report = prune_target(target, keys_of(archive.keyring), keep_weekly, keep_monthly, dry_run=dry_run)
    if not dry_run:
        _audit(archive, "backup.prune", detail={
            "target": configured.name, "dropped": report.dropped, "blobs_deleted": report.blobs_deleted,
            "bytes_freed": report.bytes_freed, "keep_weekly": keep_weekly, "keep_monthly": keep_monthly,
        })
    if as_json:
        print_json({"target": configured.name, **report.as_dict()})
        return
    verb = "would drop" if dry_run else "dropped"
    for snapshot_id in report.dropped:
        click.echo(f"{verb} {snapshot_id}")
    click.echo(f"prune: kept {len(report.kept)} snapshot(s), {verb} {len(report.dropped)}; "
               f"{'would delete' if dry_run else 'deleted'} {report.blobs_deleted} blob(s), "
               f"{_size(report.bytes_freed)}")


@backup.group("target")
def target() -> None:
    """Configure backup targets: another S3 bucket or a directory (e.g. a mounted NAS)."""


@target.command("add")
@click.argument("name")
@click.argument("url")
@_target_credentials
@pass_state
def target_add(state: State, name: str, url: str, credentials: Any) -> None:
    """Add target NAME: https://host[:port]/bucket[/prefix] (S3) or a directory.

    The target is checked (and a missing bucket or directory created) before it is saved.
    """
    from backup.target_config import add_target, same_disk_warning
    from config.settings import load_settings

    settings = load_settings(state.host_home)
    configured = add_target(settings, name, url, credentials)
    click.echo(f"backup target '{configured.name}': {configured.location}")
    warning = same_disk_warning(settings, configured)
    if warning:
        click.echo(f"warning: {warning}", err=True)


@target.command("list")
@json_option
@pass_state
def target_list(state: State, as_json: bool) -> None:
    """List the configured backup targets."""
    from backup.target_config import load_targets, same_disk_warning
    from config.settings import load_settings

    settings = load_settings(state.host_home)
    rows = [
        {**t.as_dict(), "default": t.name == settings.backup.default_target,
         "warning": same_disk_warning(settings, t)}
        for t in load_targets(settings).values()
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        note = "  (default)" if row["default"] else ""
        click.echo(f"{row['name']:<16} {row['kind']:<9} {row['location']}{note}")
        if row["warning"]:
            click.echo(f"  warning: {row['warning']}")
    if not rows:
        click.echo("no backup targets; add one with 'strongroom backup target add NAME URL|DIR'")


def _passphrase(confirm: bool) -> str:
    return os.environ.get(PASSPHRASE_ENV) or click.prompt(
        "Passphrase for the keyring export", hide_input=True, confirmation_prompt=confirm
    )


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--plain", is_flag=True, help="Write the keys without a passphrase (for an escrow that encrypts itself).")
@click.option("--force", is_flag=True, help="Overwrite FILE.")
@pass_state
def keys_export(state: State, file: Path, plain: bool, force: bool) -> None:
    """Write the keyring to FILE (mode 0600) for escrow, protected by a passphrase unless --plain.

    Backups never contain the keyring: without this export, losing the home loses the
    archive. Export again after every 'keys rotate'. The passphrase is asked for
    (twice), or taken from $STRONGROOM_KEYS_PASSPHRASE.
    """
    from backup.escrow import export_keyring
    from encryption.private_files import write_private_file

    if file.exists() and not force:
        raise UsageError(f"{file} exists; use --force to overwrite it")
    archive = state.archive
    data = export_keyring(archive.keyring, None if plain else _passphrase(confirm=True))
    try:
        write_private_file(file, data)
    except OSError as exc:
        raise UsageError(f"cannot write {file}: {exc.strerror}") from None
    _audit(archive, "keys.export", detail={"keys": [e.id for e in archive.keyring.entries], "protected": not plain})
    click.echo(f"exported {len(archive.keyring.entries)} key(s) to {file}"
               + (" (not passphrase-protected: keep it safe)" if plain else " (passphrase-protected)"))


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@pass_state
def keys_import(state: State, file: Path) -> None:
    """Bring an exported keyring into this home, before 'init' and 'backup restore' on a new host.

    A home that already holds a different keyring is refused. The passphrase is asked
    for, or taken from $STRONGROOM_KEYS_PASSPHRASE.
    """
    from backup.escrow import install_keyring, is_protected, read_export
    from config.settings import Settings

    data = _read(file)
    entries = read_export(data, _passphrase(confirm=False) if is_protected(data) else None)
    home = state.host_home
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = Settings(home=home).keyring_path
    if install_keyring(path, entries):
        click.echo(f"imported {len(entries)} key(s) into {path}")
    else:
        click.echo(f"{path} already holds this keyring")
