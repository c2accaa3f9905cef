"""Logins and sessions through the running service: the API, the web pages and the CLI answer alike.

Items 8 and 9 of issue 14: a password change ends the user's other sessions (keeping the one
that made it), and a locked account answers a login exactly as an unknown name does.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from config.settings import Settings
from tests.conftest import cli_process, make_home
from tests.service_helpers import Service, start_with_users

PASSWORDS = {
    "sam": ("staff", "st4ff-secret-pw"),
    "lena": ("staff", "l3na-secret-pw"),
}
LOCK_AFTER = 5  # service.lockout_after, the default


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, s3_server: Settings) -> Iterator[Service]:
    home = make_home(tmp_path_factory.mktemp("accounts") / "home", s3_server)
    running = start_with_users(home, PASSWORDS)
    yield running
    assert running.stop() == 0, running.stdout()


def api_login(service: Service, name: str, password: str) -> httpx.Response:
    with service.client() as http:
        return http.post("/auth/login", json={"name": name, "password": password})


def token(service: Service, name: str, password: str) -> str:
    response = api_login(service, name, password)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def me(service: Service, bearer: str) -> int:
    with service.client() as http:
        return http.get("/me", headers={"Authorization": f"Bearer {bearer}"}).status_code


def hidden_csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def web_login(service: Service, name: str, password: str) -> tuple[httpx.Client, httpx.Response]:
    """A browser-like client that posted the login form (CSRF cookie and field included)."""
    browser = httpx.Client(base_url=service.url, timeout=60)
    form = browser.get("/web/login")
    answer = browser.post("/web/login", data={"name": name, "password": password, "csrf_token": hidden_csrf(form)})
    return browser, answer


def web_session(service: Service, name: str, password: str) -> httpx.Client:
    browser, answer = web_login(service, name, password)
    assert answer.status_code == 303 and answer.headers["location"] == "/web/records", answer.text
    return browser


def lands_on(browser: httpx.Client, path: str) -> str:
    """Where a page of the logged-in interface sends this browser: the page itself, or the login page."""
    answer = browser.get(path)
    return answer.headers["location"] if answer.status_code == 303 else str(answer.status_code)


def cli_env(service: Service, tmp_path: Path) -> dict[str, str]:
    return {"STRONGROOM_SERVER": service.url, "STRONGROOM_CREDENTIALS": str(tmp_path / "credentials.json")}


def test_a_password_change_ends_every_other_session_and_keeps_its_own(service: Service, tmp_path: Path) -> None:
    first, second, third = "st4ff-secret-pw", "st4ff-second-pw", "st4ff-third-pw"
    # Through the API: two more logins (the fixture made one) and a browser; the change is made with one login.
    here, elsewhere = token(service, "sam", first), token(service, "sam", first)
    browser = web_session(service, "sam", first)
    with service.client() as http:
        changed = http.post("/auth/password", headers={"Authorization": f"Bearer {here}"},
                            json={"old_password": first, "new_password": second})
    assert changed.status_code == 200 and changed.json()["sessions_ended"] == 3, changed.text
    assert (me(service, here), me(service, elsewhere), me(service, service.tokens["sam"])) == (200, 401, 401)
    assert lands_on(browser, "/web/records") == "/web/login"

    # Through the web password page: the browser stays logged in, an API login ends.
    api_token = token(service, "sam", second)
    browser = web_session(service, "sam", second)
    form = browser.get("/web/password")
    posted = browser.post("/web/password", data={
        "csrf_token": hidden_csrf(form), "old_password": second, "new_password": third, "confirm_password": third,
    })
    assert posted.status_code == 303 and posted.headers["location"] == "/web/records", posted.text
    assert lands_on(browser, "/web/records") == "200"
    assert (me(service, api_token), me(service, here)) == (401, 401)

    # Through the CLI ('strongroom passwd' with --server): its saved login stays, the browser's session ends.
    env = cli_env(service, tmp_path)
    assert cli_process(tmp_path, "login", "sam", "--password", third, env=env).returncode == 0
    passwd = cli_process(tmp_path, "passwd", "--password", third, "--new-password", first, env=env)
    assert passwd.returncode == 0, passwd.stderr
    assert passwd.stdout.decode().strip() == "password changed; 1 other session(s) ended"
    assert cli_process(tmp_path, "whoami", env=env).stdout.decode().strip() == "sam (staff)"
    assert lands_on(browser, "/web/records") == "/web/login"

    with sqlite3.connect(service.home / "catalog.sqlite3") as db:
        ended = [row[0] for row in db.execute(
            "SELECT json_extract(detail, '$.sessions_ended') FROM audit_events "
            "WHERE action = 'auth.password' AND actor = 'sam' ORDER BY seq")]
    assert ended == [3, 2, 1]


def normalised_login_page(answer: httpx.Response, name: str) -> str:
    """The login page without what differs by design: the echoed name and the fresh CSRF value."""
    text = answer.text.replace(f'value="{name}"', 'value="NAME"')
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value="CSRF"', text)


def test_a_locked_account_answers_exactly_like_an_unknown_name(service: Service, tmp_path: Path) -> None:
    right = PASSWORDS["lena"][1]
    first_wrong = [api_login(service, "lena", "not-her-password") for _ in range(LOCK_AFTER)]
    unknown = api_login(service, "nobody", "not-her-password")
    locked_right, locked_wrong = api_login(service, "lena", right), api_login(service, "lena", "not-her-password")
    answers = [*first_wrong, unknown, locked_right, locked_wrong]
    assert {(a.status_code, a.content, a.headers["www-authenticate"]) for a in answers} == {
        (401, b'{"error":"invalid user name or password"}', "Bearer")
    }

    pages = {name: web_login(service, name, password)[1]
             for name, password in (("lena", right), ("nobody", right))}
    assert {answer.status_code for answer in pages.values()} == {401}
    assert normalised_login_page(pages["lena"], "lena") == normalised_login_page(pages["nobody"], "nobody")
    assert "invalid user name or password" in pages["lena"].text

    env = cli_env(service, tmp_path)
    tried = [cli_process(tmp_path, "login", name, "--password", right, env=env) for name in ("lena", "nobody")]
    assert [(t.returncode, t.stderr) for t in tried] == [(1, b"strongroom: error: invalid user name or password\n")] * 2

    # The lock is still real, and audited with its reason; the operator sees it.
    with sqlite3.connect(service.home / "catalog.sqlite3") as db:
        reasons = [row[0] for row in db.execute(
            "SELECT json_extract(detail, '$.reason') FROM audit_events WHERE action = 'auth.login' AND actor = 'lena' "
            "ORDER BY seq")]
        assert db.execute("SELECT locked_until IS NOT NULL FROM users WHERE name = 'lena'").fetchone() == (1,)
    assert reasons == [None] + ["bad password"] * LOCK_AFTER + ["locked"] * 4  # None: the fixture's login
    listed = cli_process(service.home, "user", "list")
    assert re.search(r"^lena .*locked until", listed.stdout.decode(), re.MULTILINE), listed.stdout
