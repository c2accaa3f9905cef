"""Running the service: transport checks, embedded storage, first-start admin, uvicorn."""

from __future__ import annotations

import ipaddress
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from archive.service import Archive
from audit.actor import Actor
from errors import StrongroomError, UsageError
from retention.rules import lock_summary


@dataclass(frozen=True)
class Listen:
    host: str
    port: int
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(listen: Listen, insecure_http: bool) -> None:
    """The policy demands encrypted transmission: plain HTTP only on loopback or when explicitly allowed."""
    if (listen.tls_cert is None) != (listen.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    for path in (listen.tls_cert, listen.tls_key):
        if path is not None and not path.is_file():
            raise UsageError(f"cannot read {path}")
    if listen.tls_cert is None and not is_loopback(listen.host) and not insecure_http:
        raise UsageError(
            f"refusing plain HTTP on {listen.host}: give --tls-cert/--tls-key, or --insecure-http "
            "when a TLS proxy in front terminates HTTPS"
        )


@contextmanager
def _terminate_like_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C: uvicorn shuts down gracefully, then re-raises the signal it caught.

    The re-raised signal ends up here as KeyboardInterrupt and is a normal stop, so storage
    is stopped and the exit status is 0 whether the service was stopped by Ctrl-C or by a
    service manager.
    """

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_port_free(listen: Listen) -> None:
    """Fail with one line, before storage is started, when the address is taken (another service?)."""
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((listen.host, listen.port))
        except OSError as exc:
            raise StrongroomError(
                f"cannot listen on {listen.host}:{listen.port}: {exc.strerror} (is another service running? "
                "use --port)"
            ) from None


def serve(archive: Archive, listen: Listen, echo: Callable[[str], None]) -> None:
    """Start storage if embedded, create the first admin if there are no users, then serve until stopped."""
    import uvicorn

    from accounts.users import ensure_bootstrap_admin
    from api.app import create_app
    from api.logs import log_config
    from audit.checkpoints import write_checkpoint
    from audit.trail import record as audit
    from storage.embedded import EmbeddedServer

    check_port_free(listen)
    settings = archive.settings
    embedded = EmbeddedServer(settings) if settings.is_embedded else None
    started_storage = embedded.start() if embedded else False
    try:
        archive.ready_to_write()
        app = create_app(archive)
        password = ensure_bootstrap_admin(archive, source="service")
        if password:
            echo("first start: created user 'admin' with the one-time password below (shown only now);")
            echo(f"  {password}")
            echo("  log in with 'strongroom login --server URL admin' and choose a new password")
        probe = archive.store.probe_object_lock()
        echo(f"storage: {settings.storage.endpoint} bucket {settings.storage.bucket}; "
             + lock_summary(probe.enforced, probe.detail, archive.locks_versions))
        audit(archive, Actor("system", "admin", "service"), "service.start", detail={"url": listen.url})
        echo(f"serving on {listen.url} (OpenAPI: {listen.url}/docs); Ctrl-C stops")
        config = uvicorn.Config(
            app, host=listen.host, port=listen.port, log_config=log_config(settings.logs_dir), log_level="warning",
            server_header=False, access_log=False,
            ssl_certfile=str(listen.tls_cert) if listen.tls_cert else None,
            ssl_keyfile=str(listen.tls_key) if listen.tls_key else None,
        )
        with _terminate_like_interrupt():
            uvicorn.Server(config).run()
        audit(archive, Actor("system", "admin", "service"), "service.stop")
        write_checkpoint(archive)
    finally:
        if embedded and started_storage:
            echo("storage: stopping (SeaweedFS may take up to 20 s)")
            embedded.stop()
