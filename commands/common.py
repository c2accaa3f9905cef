"""What every command shares: the per-invocation state, common options, output helpers."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click


class State:
    """Per-invocation state: where the home is, which server (if any), and what has been opened."""

    def __init__(self, home: Path, server: str | None = None, ca_cert: str | None = None) -> None:
        self.home = home
        self.server = server
        self.ca_cert = ca_cert
        self._archive: Any = None
        self._backend: Any = None

    @property
    def archive(self) -> Any:
        if self._archive is None:
            from archive.service import Archive

            self._archive = Archive.open(self.home)
        return self._archive

    def backend(self, actor: str) -> Any:
        """The service at ``--server`` (with the saved login), else the home directory as ``actor``."""
        if self._backend is None:
            if self.server:
                from client.credentials import saved_token
                from client.remote import RemoteArchive

                self._backend = RemoteArchive(self.server, saved_token(self.server), ca_cert=self.ca_cert)
            else:
                from access.policy import AccessPolicy
                from client.local import LocalArchive
                from operations.context import Context, local_actor

                archive = self.archive
                policy = AccessPolicy.load(archive.settings)
                self._backend = LocalArchive(Context(archive, policy, local_actor(archive, actor)))
        return self._backend

    def logged_in(self) -> Any:
        """The service at ``--server`` with the saved login (for commands that only exist there)."""
        from archive.errors import UsageError

        if not self.server:
            raise UsageError("this command talks to a server: give --server URL or set STRONGROOM_SERVER")
        return self.backend("")

    def remote(self) -> Any:
        """A client for ``--server`` without a saved login (for logging in)."""
        from archive.errors import UsageError
        from client.remote import RemoteArchive

        if not self.server:
            raise UsageError("no server: give --server URL or set STRONGROOM_SERVER")
        return RemoteArchive(self.server, ca_cert=self.ca_cert)

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
        if self._archive is not None:
            self._archive.close()


pass_state = click.make_pass_decorator(State)


def operator_actor() -> Any:
    """Operator commands act with the home directory's authority, recorded under the OS user."""
    from access.actor import CLI_SOURCE, Actor

    return Actor(f"operator:{getpass.getuser()}", None, CLI_SOURCE)


def actor_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--as",
        "actor",
        envvar="STRONGROOM_USER",
        default=lambda: getpass.getuser(),
        show_default="$STRONGROOM_USER, else the OS user",
        help="Who acts, without --server (a registered user once users exist).",
    )(func)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def print_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def print_item(item: Any, as_json: bool, line: str) -> None:
    """One result (anything with ``as_dict``): JSON for scripts, else one line."""
    if as_json:
        print_json(item.as_dict())
    else:
        click.echo(line)


def print_items(items: list[Any], as_json: bool, line: Callable[[Any], str], empty: str | None = None) -> None:
    """A list of results: JSON for scripts, else one line each (``empty`` when there are none)."""
    if as_json:
        print_json([item.as_dict() for item in items])
        return
    for item in items:
        click.echo(line(item))
    if not items and empty:
        click.echo(empty)


def check_summary(checked: int, noun: str, counts: dict[str, int], also: tuple[int, str] | None = None) -> str:
    """The last line of every check: ``checked 3 versions: ok 2, damaged 1, unreadable 0``.

    ``also`` names a second kind of thing checked: ``checked 3 versions and 1 number marker: …``.
    """
    what = _counted(checked, noun) + (f" and {_counted(*also)}" if also is not None else "")
    return f"checked {what}: " + ", ".join(f"{kind} {count}" for kind, count in counts.items())


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@contextmanager
def progress(label: str, enabled: bool) -> Iterator[tuple[Callable[..., None], Callable[[object], None]]]:
    """A progress bar on stderr, shown only on a terminal; ``start(total)`` opens it, ``step()`` advances it."""
    bar: list[Any] = []

    def start(total: int, *_: object) -> None:
        if enabled and sys.stderr.isatty() and total:
            bar.append(click.progressbar(length=total, label=label, file=sys.stderr))
            bar[0].__enter__()

    def step(_item: object) -> None:
        if bar:
            bar[0].update(1)

    try:
        yield start, step
    finally:
        if bar:
            bar[0].__exit__(None, None, None)
