"""What every command shares: the per-invocation state, common options, output helpers."""

from __future__ import annotations

import functools
import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click


class State:
    """Per-invocation state: where the home is, which server (if any), who acts, and what has been opened.

    The error funnel (``cli.StrongroomGroup``) makes it before the command line is read and hands
    it to click as the context's object; the global options then set it: on the ``strongroom``
    group, then (overriding) on any command below it. ``server_given`` and ``actor_given`` say
    whether ``--server`` and ``--as`` were given on the command line rather than by
    ``STRONGROOM_SERVER`` / ``STRONGROOM_USER``.
    """

    def __init__(
        self, home: Path | None = None, server: str | None = None, ca_cert: str | None = None,
        actor: str | None = None, *, server_given: bool = False, actor_given: bool = False,
    ) -> None:
        self.use_options(home, server, ca_cert, actor, server_given=server_given, actor_given=actor_given)
        self._archive: Any = None
        self._backend: Any = None

    def use_options(
        self, home: Path | None, server: str | None, ca_cert: str | None, actor: str | None, *,
        server_given: bool, actor_given: bool,
    ) -> None:
        """The global options as given on the ``strongroom`` group (``home`` None: not read yet)."""
        self._home = home
        self.server = server
        self.ca_cert = ca_cert
        self._actor = actor
        self.server_given = server_given
        self.actor_given = actor_given

    @property
    def home(self) -> Path:
        """The home of the running command (before the options are read: ``STRONGROOM_HOME`` or the default)."""
        if self._home is None:
            from config.home import resolve_home

            self._home = resolve_home(None)
        return self._home

    @home.setter
    def home(self, home: Path) -> None:
        self._home = home

    @property
    def actor(self) -> str:
        """Who acts: ``--as``, else ``$STRONGROOM_USER``, else the OS user."""
        return self._actor or getpass.getuser()

    def override(self, name: str, value: Any) -> None:
        """A global option given after a command's name: it wins over the same option given before."""
        from config.home import resolve_home

        if name == "home":
            self.home = resolve_home(value)
        elif name == "server":
            self.server, self.server_given = value or None, True
        elif name == "ca_cert":
            self.ca_cert = value
        elif name == "actor":
            self._actor, self.actor_given = value, True
        else:
            raise ValueError(f"not a global option: {name}")

    @property
    def host_home(self) -> Path:
        """The home, for an operator command: these run on the service host, never through ``--server``."""
        from errors import UsageError

        if self.server and self.server_given:
            context = click.get_current_context(silent=True)
            command = context.command_path if context else "this command"
            raise UsageError(
                f"'{command}' is an operator command: it works on the home directory on the service host "
                f"({self.home}), not through --server; run it there without --server"
            )
        return self.home

    @property
    def archive(self) -> Any:
        if self._archive is None:
            from archive.service import Archive

            self._archive = Archive.open(self.host_home)
        return self._archive

    def backend(self, actor: str) -> Any:
        """The service at ``--server`` (with the saved login), else the home directory as ``actor``."""
        if self._backend is None:
            if self.server:
                from client.credentials import saved_token
                from client.remote import RemoteArchive

                self._check_remote_actor()
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
        from errors import UsageError

        if not self.server:
            raise UsageError("this command talks to a server: give --server URL or set STRONGROOM_SERVER")
        return self.backend("")

    def remote(self) -> Any:
        """A client for ``--server`` without a saved login (for logging in)."""
        from client.remote import RemoteArchive
        from errors import UsageError

        if not self.server:
            raise UsageError("no server: give --server URL or set STRONGROOM_SERVER")
        self._check_remote_actor()
        return RemoteArchive(self.server, ca_cert=self.ca_cert)

    def _check_remote_actor(self) -> None:
        """Through a server you are whoever logged in; ``--as`` on the command line would be a false claim."""
        from errors import UsageError

        if self.actor_given:
            raise UsageError(
                "--as names who acts on the home directory (without --server); through the server you act as the "
                "user you logged in as ('strongroom login NAME')"
            )

    def reopen(self) -> None:
        """Close the archive (its catalog was replaced, by a restore); the next use opens it anew."""
        if self._archive is not None:
            self._archive.close()
            self._archive = None

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
        if self._archive is not None:
            self._archive.close()


pass_state = click.make_pass_decorator(State)


def current_state() -> State:
    """The state of the command being run."""
    state = click.get_current_context().find_object(State)
    if state is None:
        raise RuntimeError("no strongroom command is running")
    return state


def operator_actor() -> Any:
    """Operator commands act with the home directory's authority, recorded as ``operator:NAME``.

    NAME is who acts (``--as``, ``$STRONGROOM_USER``, else the OS user), as that person says:
    whoever can read the home holds the keyring, so no account vouches for it.
    """
    from audit.actor import CLI_SOURCE, Actor

    return Actor(f"operator:{current_state().actor}", None, CLI_SOURCE)


def actor_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """For a command that acts as a user: pass who acts (the global ``--as``) as the ``actor`` argument."""

    @functools.wraps(func)
    def with_actor(*args: Any, **kwargs: Any) -> Any:
        return func(*args, actor=current_state().actor, **kwargs)

    return with_actor


def storage_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Where a new home keeps its records: passed on as ``external`` (None: embedded storage)."""

    @functools.wraps(func)
    def with_storage(*args: Any, s3_endpoint: str | None, bucket: str, s3_region: str, s3_access_key: str | None,
                     s3_secret_key: str | None, **kwargs: Any) -> Any:
        from bootstrap.home import ExternalStorage
        from errors import UsageError

        external = None
        if s3_endpoint:
            if not s3_access_key:
                raise UsageError("--s3-endpoint needs --s3-access-key (or STRONGROOM_S3_ACCESS_KEY)")
            if not s3_secret_key:
                s3_secret_key = click.prompt("S3 secret key", hide_input=True)
            external = ExternalStorage(s3_endpoint, bucket, s3_region, s3_access_key, s3_secret_key or "")
        return func(*args, external=external, **kwargs)

    options = (
        click.option("--s3-endpoint", metavar="URL",
                     help="Use this S3 endpoint (https://host[:port]) instead of embedded storage."),
        click.option("--bucket", default="strongroom-records", show_default=True,
                     help="Bucket name (with --s3-endpoint)."),
        click.option("--s3-region", default="", help="Region (with --s3-endpoint)."),
        click.option("--s3-access-key", envvar="STRONGROOM_S3_ACCESS_KEY", help="Access key (with --s3-endpoint)."),
        click.option("--s3-secret-key", envvar="STRONGROOM_S3_SECRET_KEY",
                     help="Secret key (with --s3-endpoint); prompted if missing."),
    )
    for option in reversed(options):
        with_storage = option(with_storage)
    return with_storage


# --- the global options: the same on every command, before or after its name -------------------

_GLOBAL_OPTIONS: tuple[tuple[tuple[str, ...], str, dict[str, Any]], ...] = (
    (("--home",), "STRONGROOM_HOME", {
        "type": click.Path(file_okay=False, path_type=str), "metavar": "DIR",
        "help": "Home directory (config, keyring, catalog, logs, embedded storage).  "
                "[default: $STRONGROOM_HOME, else ~/.strongroom]",
    }),
    (("--server",), "STRONGROOM_SERVER", {
        "metavar": "URL",
        "help": "Talk to this Strongroom service (after 'strongroom login') instead of the home directory.  "
                "[default: $STRONGROOM_SERVER]",
    }),
    (("--ca-cert",), "STRONGROOM_CA_CERT", {
        "type": click.Path(dir_okay=False, exists=True), "metavar": "FILE",
        "help": "Trust this CA certificate for --server (e.g. a self-signed service certificate).",
    }),
    (("--as", "actor"), "STRONGROOM_USER", {
        "metavar": "NAME",
        "help": "Who acts on the home directory (a registered user once users exist; operator commands record "
                "it as operator:NAME).  [default: $STRONGROOM_USER, else the OS user]",
    }),
)


def root_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The global options of the ``strongroom`` group itself, read from their environment variables too."""
    for flags, envvar, attrs in reversed(_GLOBAL_OPTIONS):
        func = click.option(*flags, envvar=envvar, **attrs)(func)
    return func


def _override(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None and param.name is not None:
        current_state().override(param.name, value)


def add_global_options(group: click.Group) -> None:
    """Give every command and group below ``group`` the global options.

    Given after a command's name, an option overrides the same option given before it (and its
    environment variable); the command's own function never sees them, only the state does.
    """
    for command in group.commands.values():
        have = {param.name for param in command.params}
        for flags, _, attrs in _GLOBAL_OPTIONS:
            option = click.Option(flags, expose_value=False, callback=_override, **attrs)
            if option.name not in have:
                command.params.append(option)
        if isinstance(command, click.Group):
            add_global_options(command)


def leading_global_options(args: list[str]) -> int:
    """How many of ``args`` at the start are global options and their values (for a group that reads ahead)."""
    flags = {flag for options, _, _ in _GLOBAL_OPTIONS for flag in options if flag.startswith("--")}
    index = 0
    while index < len(args):
        name, equals, _ = args[index].partition("=")
        if name not in flags:
            break
        index += 1 if equals else 2
    return min(index, len(args))


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


@contextmanager
def counted_progress(label: str, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar for work that reports ``(done, total)`` as it goes: opened at its first report."""
    with progress(label, enabled) as (start, step):
        opened = False

        def report(done: int, total: int) -> None:
            nonlocal opened
            if not opened:
                start(total)
                opened = True
            step(done)

        yield report
