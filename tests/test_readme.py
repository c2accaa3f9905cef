"""The README is a test: its shell blocks run as written, in order, as a new user would run them.

The rules (also in the README's Development section): every ``sh`` block runs unless the line
before it says ``<!-- not run: why -->``. The blocks run one command at a time in ``bash``, in
a temporary directory standing in for ``$HOME`` (so ``~/.strongroom`` and the saved logins are
the test's own), from a working directory holding this checkout's ``.venv`` and ``examples/``;
exported variables and the working directory carry over from one command to the next, as in
one terminal. Before the first block the service is started as ``make run`` starts it
(``strongroom init``, then ``strongroom serve``), on a free port given as
``STRONGROOM_SERVICE_PORT``. Password prompts are answered through ``STRONGROOM_PASSWORD``,
``STRONGROOM_NEW_PASSWORD`` and ``STRONGROOM_KEYS_PASSPHRASE`` with the one-time passwords the
service and ``user add`` print (and new ones of the test's choosing). A command must exit 0, or
with the status its comment gives as ``(exit N)``; a comment ``# -> TEXT`` must appear in its
output.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO, STRONGROOM
from tests.service_helpers import free_port

README = REPO / "README.md"
SHELL_LANGUAGES = ("sh", "bash", "shell", "console")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<why>\S.*?)\s*-->$")
FENCE = re.compile(r"^```(?P<language>[\w-]*)\s*$")
EXPECTED_EXIT = re.compile(r"\(exit (?P<status>\d+)\)")
CLAIM = re.compile(r"^->\s*(?P<text>\S.*)$")
KEYS_PASSPHRASE = "the escrow passphrase of the README test"
ADDED_USER = re.compile(r"^added (?P<name>\S+) \(", re.MULTILINE)
ONE_TIME = re.compile(r"one-time password[^:\n]*:\s*(?P<password>\S+)\s*$", re.MULTILINE)
ADMIN_PASSWORD = re.compile(r"created user 'admin' with the one-time password below[^\n]*\n\s*(?P<password>\S+)")
LOGIN = re.compile(r"\bstrongroom\s+login\s+(?P<name>[\w.@-]+)")
PASSWD = re.compile(r"\bstrongroom\s+passwd\b")


@dataclass(frozen=True)
class Block:
    line: int
    language: str
    text: str
    not_run: str | None  # why, when the block is marked


@dataclass(frozen=True)
class Command:
    line: int
    text: str
    comment: str

    @property
    def expected_status(self) -> int:
        found = EXPECTED_EXIT.search(self.comment)
        return int(found["status"]) if found else 0

    @property
    def claim(self) -> str | None:
        found = CLAIM.match(self.comment)
        return found["text"].strip() if found else None


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block, with the reason it is not run when the line before it gives one."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        marker = NOT_RUN.match(lines[index - 1].strip()) if index else None
        blocks.append(Block(index + 1, opening["language"], "\n".join(lines[index + 1:end]),
                            marker["why"] if marker else None))
        index = end + 1
    return blocks


def split_comment(line: str) -> tuple[str, str]:
    """``(command, comment)``: a ``#`` starts a comment at the start of a word, outside quotes."""
    quote = None
    for position, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1].isspace()):
            return line[:position].rstrip(), line[position + 1:].strip()
    return line.rstrip(), ""


def block_commands(block: Block) -> list[Command]:
    """The commands of a block: one a line (a trailing backslash continues it), without comment lines."""
    commands: list[Command] = []
    pending: list[str] = []
    start = 0
    for number, line in enumerate(block.text.splitlines(), start=block.line + 1):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending.append(line.rstrip()[:-1])
            continue
        text, comment = split_comment(" ".join([*pending, line]))
        pending = []
        if text.strip():
            commands.append(Command(start, text.strip(), comment))
    assert not pending, f"README line {start}: a continued line never ends"
    return commands


def shell_blocks() -> list[Block]:
    return [b for b in readme_blocks(README.read_text(encoding="utf-8")) if b.language in SHELL_LANGUAGES]


# --- the rules, without running anything ----------------------------------------------------------


def test_every_shell_block_runs_or_says_why_not() -> None:
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    for block in blocks:
        if block.not_run is not None:
            assert block.language in SHELL_LANGUAGES, f"README line {block.line}: 'not run' marks a shell block"
    runnable = [b for b in blocks if b.language in SHELL_LANGUAGES and b.not_run is None]
    everything = "\n".join(b.text for b in runnable)
    for needed in ("strongroom login admin", "strongroom user add alice", "strongroom put examples/lease.pdf",
                   "strongroom template minutes --from examples/minutes-zh.yaml",
                   "strongroom template report --from examples/report-zh.yaml",
                   "strongroom backup restore latest --home ~/strongroom-drill"):
        assert needed in everything, f"the README's runnable blocks no longer do '{needed}'"
    for block in runnable:
        for command in block_commands(block):
            assert command.text.split()[0] in ("strongroom", "source", "export", "unset", "rm"), (
                f"README line {command.line}: {command.text!r} is not something the test knows how to run")


def test_commands_and_comments_are_split_as_a_shell_would() -> None:
    block = Block(10, "sh", "\n".join([
        "# a comment line",
        "strongroom search '\"a # b\" OR c'   # -> 2026-0001-contract",
        "strongroom get X   # refused (exit 3): not yours",
        "strongroom backup restore latest --home H \\",
        "    --from D    # the secret key is asked for",
        "strongroom ls#not-a-comment",
    ]), None)
    commands = block_commands(block)
    assert [(c.line, c.text) for c in commands] == [
        (12, "strongroom search '\"a # b\" OR c'"),
        (13, "strongroom get X"),
        (14, "strongroom backup restore latest --home H      --from D"),
        (16, "strongroom ls#not-a-comment"),
    ]
    assert [c.expected_status for c in commands] == [0, 3, 0, 0]
    assert [c.claim for c in commands] == ["2026-0001-contract", None, None, None]
    marked = readme_blocks("text\n<!-- not run: needs a NAS -->\n```sh\nstrongroom ls\n```\n```toml\na = 1\n```\n")
    assert [(b.line, b.language, b.not_run) for b in marked] == [(3, "sh", "needs a NAS"), (6, "toml", None)]


# --- running it --------------------------------------------------------------------------------------


@dataclass
class Session:
    """One terminal: exported variables and the working directory carry over; prompts are answered."""

    env: dict[str, str]
    cwd: Path
    state: Path
    passwords: dict[str, str] = field(default_factory=dict)
    user: str | None = None

    def run(self, command: Command) -> None:
        answers = self._answers(command.text)
        script = (f"set -o pipefail\n{command.text}\n__status=$?\n"
                  f"env -0 > {self.state / 'env'}\npwd > {self.state / 'pwd'}\nexit $__status\n")
        started = time.monotonic()
        result = subprocess.run(
            ["bash", "-c", script], env={**self.env, **answers}, cwd=self.cwd, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=300, start_new_session=True,  # no terminal: a prompt fails, never waits
        )
        stdout = result.stdout.decode("utf-8", "replace")
        stderr = result.stderr.decode("utf-8", "replace")
        where = (f"README line {command.line}: {command.text}\nexit {result.returncode} after "
                 f"{time.monotonic() - started:.1f} s\n--- stdout\n{stdout}\n--- stderr\n{stderr}")
        assert result.returncode == command.expected_status, where
        assert "Traceback" not in stdout + stderr, where
        if command.claim is not None:
            assert command.claim in stdout, f"the comment says '-> {command.claim}'\n{where}"
        self._carry_over(answers)
        self._learn(command.text, stdout, answers)

    def _answers(self, text: str) -> dict[str, str]:
        if (login := LOGIN.search(text)) is not None:
            assert login["name"] in self.passwords, f"no password known for {login['name']}: who printed it?"
            return {"STRONGROOM_PASSWORD": self.passwords[login["name"]]}
        if PASSWD.search(text):
            assert self.user is not None, "'strongroom passwd' before any login"
            new = f"pw-{secrets.token_hex(10)}"  # hex: it cannot contain a user's name
            return {"STRONGROOM_PASSWORD": self.passwords[self.user], "STRONGROOM_NEW_PASSWORD": new}
        return {}

    def _carry_over(self, answers: dict[str, str]) -> None:
        raw = (self.state / "env").read_bytes().split(b"\0")
        env = dict(item.decode().partition("=")[::2] for item in raw if b"=" in item)
        for transient in ("PWD", "OLDPWD", "SHLVL", "_", *answers):
            env.pop(transient, None)
        self.env = env
        self.cwd = Path((self.state / "pwd").read_text().strip())

    def _learn(self, text: str, stdout: str, answers: dict[str, str]) -> None:
        added, one_time = ADDED_USER.search(stdout), ONE_TIME.search(stdout)
        if added and one_time:
            self.passwords[added["name"]] = one_time["password"]
        if (login := LOGIN.search(text)) is not None:
            self.user = login["name"]
        if "STRONGROOM_NEW_PASSWORD" in answers and self.user is not None:
            self.passwords[self.user] = answers["STRONGROOM_NEW_PASSWORD"]


def _user_environment(home: Path, port: int) -> dict[str, str]:
    """The environment of a new user's terminal: their own HOME, no Strongroom settings, no active venv."""
    venv_bin = str(Path(sys.prefix) / "bin")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("STRONGROOM_") and k not in ("XDG_CONFIG_HOME", "VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p != venv_bin)
    env.update(HOME=str(home), STRONGROOM_SERVICE_PORT=str(port), STRONGROOM_KEYS_PASSPHRASE=KEYS_PASSPHRASE)
    return env


def _start_service(env: dict[str, str], cwd: Path, output: Path) -> tuple[subprocess.Popen[bytes], str]:
    """What 'make run' does: 'strongroom init', then 'strongroom serve'; returns the service and admin's password."""
    init = subprocess.run([STRONGROOM, "init"], env=env, cwd=cwd, capture_output=True, timeout=120)
    assert init.returncode == 0, init.stderr.decode()
    with open(output, "wb") as out:
        process = subprocess.Popen([STRONGROOM, "serve"], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        printed = output.read_text(encoding="utf-8", errors="replace")
        if "serving on" in printed:
            password = ADMIN_PASSWORD.search(printed)
            assert password is not None, f"the service did not print admin's one-time password:\n{printed}"
            return process, password["password"]
        assert process.poll() is None, f"serve exited with {process.returncode}:\n{printed}"
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"serve did not start:\n{output.read_text()}")


def _stop(process: subprocess.Popen[bytes], env: dict[str, str], others: list[Path]) -> None:
    """Stop the service (it stops its storage) and the storage of other homes the blocks left running,
    side by side: each takes a while."""
    def stop_service() -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_storage(home: Path) -> None:
        subprocess.run([STRONGROOM, "--home", str(home), "storage", "stop"], env=env, capture_output=True, timeout=120)

    with ThreadPoolExecutor(max_workers=1 + len(others)) as pool:
        for done in [pool.submit(stop_service), *(pool.submit(stop_storage, home) for home in others)]:
            done.result()


def test_readme_runs_as_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    checkout = home / "strongroom"
    checkout.mkdir(parents=True)
    (checkout / ".venv").symlink_to(Path(sys.prefix))
    (checkout / "examples").symlink_to(REPO / "examples")
    state = tmp_path / "state"
    state.mkdir()
    env = _user_environment(home, free_port())
    process, admin_password = _start_service(env, checkout, tmp_path / "serve.out")
    session = Session(env, checkout, state, passwords={"admin": admin_password})
    try:
        for block in shell_blocks():
            if block.not_run is None:
                for command in block_commands(block):
                    session.run(command)
    finally:
        _stop(process, env, [p for p in home.glob("*") if (p / "strongroom.toml").exists()])
    assert {"admin", "dora", "sam", "alice"} <= set(session.passwords)
    assert not (home / "strongroom-drill").exists(), "the drill cleans up after itself"


@pytest.mark.parametrize("block", [b for b in shell_blocks() if b.not_run is None], ids=lambda b: f"line{b.line}")
def test_runnable_blocks_name_only_example_files_that_exist(block: Block) -> None:
    for command in block_commands(block):
        for word in command.text.split():
            if word.startswith("examples/"):
                assert (REPO / word).is_file(), f"README line {command.line}: {word} is not shipped"
