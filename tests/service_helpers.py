"""Running the real ``strongroom serve`` in a child process for HTTP tests."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import STRONGROOM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """A running service: its URL, its home, and the child process (stdout captured to a file)."""

    url: str
    home: Path
    process: subprocess.Popen[bytes]
    output: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def stdout(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def client(self, user: str | None = None, **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]

    def login(self, user: str, password: str) -> str:
        with self.client() as http:
            response = http.post("/auth/login", json={"name": user, "password": password})
        assert response.status_code == 200, response.text
        self.tokens[user] = response.json()["token"]
        return self.tokens[user]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_service(home: Path, *args: str, env: dict[str, str] | None = None, scheme: str = "http",
                  verify: ssl.SSLContext | bool = True) -> Service:
    port = free_port()
    output = home.parent / f"serve-{port}.out"
    with open(output, "wb") as out:
        process = subprocess.Popen(
            [STRONGROOM, "--home", str(home), "serve", "--port", str(port), *args],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
    service = Service(f"{scheme}://127.0.0.1:{port}", home, process, output)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}: {service.stdout()}")
        try:
            if httpx.get(f"{service.url}/health", timeout=2, verify=verify).status_code == 200:
                return service
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    service.stop()
    raise AssertionError(f"serve did not become healthy: {service.stdout()}")


def start_with_users(home: Path, users: dict[str, tuple[str, str]], *, env: dict[str, str] | None = None) -> Service:
    """Register ``users`` (name → (role, password)) in ``home``, start the service and log each one in."""
    from accounts.users import add_user
    from archive.service import Archive
    from audit.actor import Actor

    archive = Archive.open(home)
    try:
        for name, (role, password) in users.items():
            add_user(archive, name, role, password, actor=Actor("test-operator", None, "cli"))
    finally:
        archive.close()
    running = start_service(home, env=env)
    for name, (_, password) in users.items():
        running.login(name, password)
    return running
