"""The service and its users: serve, login, logout, passwd, whoami, and the operator's user commands."""

from __future__ import annotations

from pathlib import Path

import click

from commands.common import State, json_option, operator_actor, pass_state, print_json


@click.command()
@click.option("--host", help="Address to listen on.  [default: service.host, 127.0.0.1]")
@click.option("--port", type=click.IntRange(1, 65535), help="Port.  [default: service.port, 8080]")
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), help="TLS certificate (PEM) for HTTPS.")
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), help="TLS private key (PEM).")
@click.option("--insecure-http", is_flag=True, help="Allow plain HTTP on a non-loopback address (behind a TLS proxy).")
@pass_state
def serve(state: State, host: str | None, port: int | None, tls_cert: Path | None, tls_key: Path | None,
          insecure_http: bool) -> None:
    """Run the HTTP API (and embedded storage, when configured) until Ctrl-C.

    The service alone holds the keyring and the S3 credentials. On first start with
    no users it creates the user 'admin' and prints a one-time password, once.
    Without TLS it listens only on loopback unless --insecure-http is given.
    """
    from api.server import Listen, check_transport
    from api.server import serve as run

    settings = state.archive.settings
    listen = Listen(host or settings.service.host, port or settings.service.port, tls_cert, tls_key)
    check_transport(listen, insecure_http)
    run(state.archive, listen, click.echo)


@click.command()
@click.argument("name")
@click.option("--password", envvar="STRONGROOM_PASSWORD", help="Password (prompted when missing).")
@pass_state
def login(state: State, name: str, password: str | None) -> None:
    """Log in to --server as NAME; the token is saved (mode 0600) for later commands."""
    from client.credentials import save_token

    client = state.remote()
    if password is None:
        password = click.prompt("password", hide_input=True)
    result = client.login(name, password)
    path = save_token(state.server or "", name, result["token"], result["expires_at"])
    click.echo(f"logged in to {state.server} as {name} ({result['user']['role']}) until {result['expires_at']}; "
               f"token saved in {path}")
    if result["must_change_password"]:
        click.echo("you must choose a new password now: strongroom passwd", err=True)


@click.command()
@pass_state
def logout(state: State) -> None:
    """Log out of --server: the token is revoked and forgotten."""
    from client.credentials import forget_token

    state.logged_in().logout()
    forget_token(state.server or "")
    click.echo(f"logged out of {state.server}")


@click.command()
@click.option("--password", envvar="STRONGROOM_PASSWORD", help="Current password (prompted when missing).")
@click.option("--new-password", envvar="STRONGROOM_NEW_PASSWORD", help="New password (prompted twice when missing).")
@pass_state
def passwd(state: State, password: str | None, new_password: str | None) -> None:
    """Change your password on --server (at least 10 characters, not containing your name).

    Every other session of yours ends (other logins, web sessions); this login stays.
    """
    client = state.logged_in()
    old = password if password is not None else click.prompt("current password", hide_input=True)
    new = new_password if new_password is not None else click.prompt(
        "new password", hide_input=True, confirmation_prompt=True)
    ended = client.change_password(old, new)
    click.echo(f"password changed; {ended} other session(s) ended")


@click.command()
@json_option
@pass_state
def whoami(state: State, as_json: bool) -> None:
    """Show who you are logged in as on --server."""
    me = state.logged_in().me()
    if as_json:
        print_json(me)
    else:
        click.echo(f"{me['name']} ({me['role']})")


# accounts.users.ROLES, spelt out so that '--help' need not import the accounts code (a test keeps them equal).
ROLE = click.Choice(["director", "manager", "staff", "auditor", "admin"])


@click.group()
def user() -> None:
    """Manage users (operator commands, run on the service host).

    Roles: director, manager, staff, auditor, admin. Passwords are stored as
    argon2id hashes; a generated password is shown once and must be changed at
    first login.
    """


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=ROLE)
@click.option("--password", envvar="STRONGROOM_NEW_PASSWORD",
              help="Initial password.  [default: generate a one-time password, shown once]")
@json_option
@pass_state
def user_add(state: State, name: str, role: str, password: str | None, as_json: bool) -> None:
    """Register a user."""
    from accounts.users import add_user

    view, generated = add_user(state.archive, name, role, password, actor=operator_actor())
    if as_json:
        print_json({**view.as_dict(), "one_time_password": generated})
        return
    click.echo(f"added {view.name} ({view.role})")
    if generated:
        click.echo(f"one-time password (shown only now; to be changed at first login): {generated}")


@user.command("list")
@json_option
@pass_state
def user_list(state: State, as_json: bool) -> None:
    """List users."""
    from accounts.users import list_users

    users = list_users(state.archive)
    if as_json:
        print_json([u.as_dict() for u in users])
        return
    for u in users:
        flags = [] if u.enabled else ["DISABLED"]
        if u.must_change_password:
            flags.append("must change password")
        if u.locked_until:
            flags.append(f"locked until {u.locked_until}")
        click.echo(f"{u.name:<24} {u.role:<9} {u.created_at[:10]}  {', '.join(flags)}".rstrip())


@user.command("disable")
@click.argument("name")
@pass_state
def user_disable(state: State, name: str) -> None:
    """Lock a user out at once (their tokens are revoked)."""
    from accounts.users import set_enabled

    set_enabled(state.archive, name, False, actor=operator_actor())
    click.echo(f"disabled {name}")


@user.command("enable")
@click.argument("name")
@pass_state
def user_enable(state: State, name: str) -> None:
    """Let a disabled user log in again."""
    from accounts.users import set_enabled

    set_enabled(state.archive, name, True, actor=operator_actor())
    click.echo(f"enabled {name}")


@user.command("passwd")
@click.argument("name")
@click.option("--password", envvar="STRONGROOM_NEW_PASSWORD",
              help="New password.  [default: generate a one-time password, shown once]")
@pass_state
def user_passwd(state: State, name: str, password: str | None) -> None:
    """Reset a user's password (their tokens are revoked)."""
    from accounts.users import set_password

    generated = set_password(state.archive, name, password, actor=operator_actor())
    click.echo(f"password of {name} reset")
    if generated:
        click.echo(f"one-time password (shown only now; to be changed at first login): {generated}")


@user.command("role")
@click.argument("name")
@click.argument("role", type=ROLE)
@pass_state
def user_role(state: State, name: str, role: str) -> None:
    """Change a user's role."""
    from accounts.users import set_role

    set_role(state.archive, name, role, actor=operator_actor())
    click.echo(f"{name} is now {role}")

