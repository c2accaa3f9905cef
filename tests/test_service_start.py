"""Starting the service: first-start admin, TLS, refusing plain HTTP off loopback; local-mode permissions."""

from __future__ import annotations

import datetime
import ipaddress
import re
import ssl
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import cli, cli_process
from tests.helpers import write_file
from tests.service_helpers import start_service


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "strongroom test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def test_first_start_creates_an_admin_whose_one_time_password_must_be_changed(home: Path, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    service = start_service(home, "--tls-cert", str(cert), "--tls-key", str(key), scheme="https", verify=trusting(cert))
    try:
        printed = re.search(r"^  (\S+)$", service.stdout(), re.MULTILINE)
        assert printed, service.stdout()
        password = printed.group(1)
        with httpx.Client(base_url=service.url, verify=trusting(cert)) as http:
            login = http.post("/auth/login", json={"name": "admin", "password": password}).json()
            assert login["must_change_password"] is True
            auth = {"Authorization": f"Bearer {login['token']}"}
            blocked = http.get("/records", headers=auth)
            assert blocked.status_code == 403 and "password change required" in blocked.json()["error"]
            weak = http.post("/auth/password", headers=auth, json={"old_password": password, "new_password": "short"})
            assert weak.status_code == 400
            changed = http.post("/auth/password", headers=auth,
                                json={"old_password": password, "new_password": "a-much-better-secret"})
            assert changed.status_code == 200, changed.text
            assert http.get("/records", headers=auth).status_code == 200
        with httpx.Client(base_url=service.url) as untrusting:
            try:
                untrusting.get("/health")
                raise AssertionError("a certificate nobody trusts was accepted")
            except httpx.ConnectError:
                pass
        env = {"STRONGROOM_SERVER": service.url, "STRONGROOM_CA_CERT": str(cert),
               "STRONGROOM_CREDENTIALS": str(tmp_path / "creds.json")}
        logged = cli_process(tmp_path, "login", "admin", "--password", "a-much-better-secret", env=env)
        assert logged.returncode == 0, logged.stderr
        assert cli_process(tmp_path, "whoami", env=env).stdout.decode().strip() == "admin (admin)"
        changed_again = cli_process(tmp_path, "passwd", "--password", "a-much-better-secret",
                                    "--new-password", "yet-another-secret", env=env)
        assert changed_again.returncode == 0, changed_again.stderr
        wrong = cli_process(tmp_path, "login", "admin", "--password", "a-much-better-secret", env=env)
        assert wrong.returncode == 1 and wrong.stderr.count(b"\n") == 1
    finally:
        assert service.stop() == 0
    stored = [path.read_bytes() for path in home.rglob("*") if path.is_file() and path.stat().st_size < 50_000_000]
    assert not any(password.encode() in data for data in stored)


def test_plain_http_off_loopback_is_refused_unless_insecure_http(home: Path) -> None:
    refused = cli_process(home, "serve", "--host", "0.0.0.0", "--port", "1")
    assert refused.returncode == 2
    assert b"refusing plain HTTP" in refused.stderr and refused.stderr.count(b"\n") == 1
    half = cli_process(home, "serve", "--tls-cert", "/nonexistent.pem")
    assert half.returncode == 2 and b"go together" in half.stderr


def test_local_commands_act_with_the_named_users_permissions(home: Path, tmp_path: Path) -> None:
    doc = write_file(tmp_path / "lease.txt", b"lease terms")
    bootstrap = cli(home, "put", str(doc), "--type", "contract", "--as", "whoever")
    assert bootstrap.exit_code == 0, bootstrap.output  # no users yet: the operator bootstraps
    name = bootstrap.output.strip()
    for user, role in [("dora", "director"), ("sam", "staff")]:
        added = cli(home, "user", "add", user, "--role", role, "--password", "a-long-secret-pw")
        assert added.exit_code == 0, added.output
    assert cli(home, "get", name, "-o", "-", "--as", "sam").exit_code == 3
    assert cli(home, "get", name, "-o", "-", "--as", "dora").output == "lease terms"
    unknown = cli(home, "ls", "--as", "whoever")
    assert unknown.exit_code == 1 and "not an enabled Strongroom user" in unknown.output
    assert cli(home, "user", "disable", "dora").exit_code == 0
    assert cli(home, "get", name, "-o", "-", "--as", "dora").exit_code == 1
    log = cli(home, "audit", "log", "--record", name, "--json", "--as", "whoever")
    assert log.exit_code == 1


def test_a_taken_port_is_one_line_and_starts_nothing(home: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli_process(home, "serve", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.count(b"\n") == 1 and b"cannot listen on 127.0.0.1" in result.stderr
    assert b"serving on" not in result.stdout
