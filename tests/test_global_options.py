"""The global options --home, --server, --ca-cert and --as: the same on every command, before or after its name.

Given after a command's name, an option wins over the same option given before it (and over its
environment variable). Operator commands (those that work on the home directory) refuse an
explicit --server and record who acted as ``operator:NAME``; through a server, --as is refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from archive.service import Archive
from audit.log import query
from cli import main
from commands.common import State
from tests.conftest import cli

GLOBAL = ("--home", "--server", "--ca-cert", "--as")
NOWHERE = "http://127.0.0.1:9"


def command_paths(
    group: click.Group = main, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and group below ``group``, found by walking the click tree."""
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        yield path, command
        if isinstance(command, click.Group):
            yield from command_paths(command, path)


PATHS = [path for path, _ in command_paths()]


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_the_walk_finds_every_command() -> None:
    leaves = {" ".join(path) for path, command in command_paths() if not isinstance(command, click.Group)}
    assert {"verify", "repair", "backup restore", "keys import", "retention apply", "meeting add",
            "search reindex", "audit sample", "user add", "login"} <= leaves
    assert len(PATHS) > 70


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_every_command_takes_the_global_options_before_and_after_its_name(
    path: tuple[str, ...], tmp_path: Path
) -> None:
    cert = tmp_path / "ca.pem"
    cert.write_text("not read for --help")
    options = ["--home", str(tmp_path / "h"), "--server", NOWHERE, "--ca-cert", str(cert), "--as", "dora"]
    for args in ([*options, *path, "--help"], [*path, *options, "--help"]):
        result = invoke(*args)
        assert result.exit_code == 0, f"strongroom {' '.join(args)}: {result.output}"
    shown = invoke(*path, "--help").output
    assert all(f"{option} " in shown for option in GLOBAL), shown


@pytest.mark.parametrize("path", [p for p, c in command_paths() if not isinstance(c, click.Group)], ids=" ".join)
def test_the_global_options_after_a_command_reach_it(path: tuple[str, ...], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command applies the options given after its name (and, with --server and --as given, does nothing)."""
    seen: list[tuple[str, object]] = []
    override = State.override

    def recording(state: State, name: str, value: object) -> None:
        seen.append((name, value))
        override(state, name, value)

    monkeypatch.setattr(State, "override", recording)
    monkeypatch.chdir(tmp_path)
    cert = tmp_path / "ca.pem"
    cert.write_text("unused")
    home = tmp_path / "new-home"
    result = invoke("--home", str(tmp_path / "other"), *path,
                    "--home", str(home), "--server", NOWHERE, "--ca-cert", str(cert), "--as", "dora")
    assert seen == [("home", str(home)), ("server", NOWHERE), ("ca_cert", str(cert)), ("actor", "dora")], result.output
    assert "Traceback" not in result.output and not home.exists()


def test_verify_takes_as_in_both_places(home: Path) -> None:
    """The issue's example: 'verify --as dora' said "No such option '--as'"."""
    after, before = cli(home, "verify", "--as", "dora"), cli(home, "--as", "dora", "verify")
    assert after.exit_code == before.exit_code == 0, after.output + before.output
    assert after.output == before.output and after.output.startswith("checked 0 versions")


def _actors(home: Path, action: str) -> list[str]:
    archive = Archive.open(home)
    try:
        return [event.actor for event in query(archive, action=action)]
    finally:
        archive.close()


def test_operator_commands_record_who_acted(home: Path) -> None:
    assert cli(home, "keys", "retire").exit_code == 0
    assert cli(home, "keys", "retire", "--as", "dora").exit_code == 0
    assert cli(home, "--as", "sam", "keys", "retire").exit_code == 0
    assert cli(home, "--as", "sam", "keys", "retire", "--as", "dora").exit_code == 0
    assert _actors(home, "keys.retire") == ["operator:tester", "operator:dora", "operator:sam", "operator:dora"]
    assert cli(home, "user", "add", "dora", "--role", "director", "--password", "a-long-secret-pw",
               "--as", "root-on-call").exit_code == 0
    assert _actors(home, "user.add") == ["operator:root-on-call"]


def test_after_the_name_wins_over_before_it_and_over_the_environment(home: Path, tmp_path: Path) -> None:
    assert cli(home, "user", "add", "sam", "--role", "staff", "--password", "a-long-secret-pw").exit_code == 0
    missing = str(tmp_path / "no-such-home")
    result = invoke("--home", missing, "ls", "--home", str(home), "--as", "sam")
    assert result.exit_code == 0, result.output
    refused = invoke("--home", str(home), "ls", "--as", "nobody")
    assert refused.exit_code == 1 and "'nobody' is not an enabled Strongroom user" in refused.stderr
    assert invoke("--home", str(home), "--as", "nobody", "ls", "--as", "sam").exit_code == 0
    assert invoke("--home", str(home), "ls", "--as", "sam", env={"STRONGROOM_USER": "nobody"}).exit_code == 0
    assert invoke("--home", str(home), "ls", env={"STRONGROOM_USER": "sam"}).exit_code == 0
    assert invoke("ls", "--as", "sam", env={"STRONGROOM_HOME": missing}).exit_code == 1
    assert invoke("ls", "--as", "sam", "--home", str(home), env={"STRONGROOM_HOME": missing}).exit_code == 0


@pytest.mark.parametrize("args", [
    ("verify",), ("repair",), ("init",), ("serve",), ("storage", "status"), ("keys", "list"), ("backup", "run"),
    ("backup", "target", "list"), ("user", "list"), ("search", "reindex"), ("retention", "apply"),
    ("compliance", "status"), ("audit", "checkpoint"), ("catalog", "rebuild"), ("meeting", "list"),
], ids=" ".join)
def test_operator_commands_say_they_run_on_the_host(home: Path, args: tuple[str, ...]) -> None:
    for given in ((*args, "--server", NOWHERE), ("--server", NOWHERE, *args)):
        result = cli(home, *given)
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and "is an operator command" in result.stderr
        assert "run it there without --server" in result.stderr


def test_operator_commands_leave_strongroom_server_in_the_environment_aside(home: Path) -> None:
    result = CliRunner().invoke(main, ["--home", str(home), "verify"], env={"STRONGROOM_SERVER": NOWHERE})
    assert result.exit_code == 0, result.output


def test_as_is_refused_through_a_server(home: Path) -> None:
    for args in (("ls", "--as", "sam"), ("--as", "sam", "ls"), ("login", "sam", "--as", "sam")):
        result = cli(home, "--server", NOWHERE, *args)
        assert result.exit_code == 2, result.output
        assert "through the server you act as the user you logged in as" in result.stderr
    unreachable = CliRunner().invoke(main, ["--home", str(home), "ls"],
                                     env={"STRONGROOM_SERVER": NOWHERE, "STRONGROOM_USER": "sam"})
    assert unreachable.exit_code == 1 and "as the user you logged in as" not in unreachable.stderr


def test_search_reads_global_options_before_its_subcommand(home: Path) -> None:
    result = cli(home, "search", "--home", str(home), "reindex")
    assert result.exit_code == 0, result.output
    assert "search index rebuilt" in result.output
    query_result = cli(home, "search", "--as", "tester", "reindex-is-a-word")
    assert query_result.exit_code == 0 and "no matches" in query_result.stderr


def test_an_internal_error_is_logged_in_the_running_commands_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The error funnel finds the log through the command's State (the last --home wins), and no
    variable of the process environment carries it (nothing leaks to a later command or a child)."""
    def broken(cls: type[Archive], home: Path) -> Archive:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Archive, "open", classmethod(broken))
    before, after = tmp_path / "before", tmp_path / "after"
    result = CliRunner().invoke(main, ["--home", str(before), "ls", "--home", str(after)])
    log = after / "logs" / "strongroom.log"
    assert result.exit_code == 1
    assert result.output == f"strongroom: error: internal error (RuntimeError); details in {log}\n"
    assert "RuntimeError: a bug" in log.read_text()
    assert not before.exists()
    assert not [name for name in os.environ if name.startswith("_STRONGROOM")]
