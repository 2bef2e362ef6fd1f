"""`uv run auth-admin`: operator commands on users and sessions, reading MONGO_URI.

Passwords are read without echo (or from stdin with --password-stdin), never from argv.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from auth_utils.config import SettingsError, load_settings
from auth_utils.core import AuthCore, build_core
from auth_utils.storage import StoredUser
from auth_utils.validation import normalize_username, validate_password

__all__ = ["main"]


class CommandError(Exception):
    """Shown to the operator as `auth-admin: <message>` with exit code 1."""


def _read_password(args: argparse.Namespace) -> str:
    try:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            if not sys.stdin.isatty():
                raise CommandError("no terminal to ask for the password: "
                                   "pipe it in with --password-stdin")
            password = getpass.getpass("New password: ")
            if getpass.getpass("Again: ") != password:
                raise CommandError("the two passwords do not match")
    except EOFError:
        raise CommandError("no password given (use --password-stdin)") from None
    if message := validate_password(password):
        raise CommandError(message)
    return password


def _user(core: AuthCore, raw: str) -> StoredUser:
    username = normalize_username(raw)
    user = core.storage.users.by_username(username)
    if user is None:
        raise CommandError(f"no user named {username!r}")
    return user


def create_user(core: AuthCore, args: argparse.Namespace) -> None:
    outcome = core.accounts.register(args.username, _read_password(args))
    if not outcome.ok:
        raise CommandError(outcome.message)
    print(f"created user {outcome.user.username} (id {outcome.user.id})")


def set_password(core: AuthCore, args: argparse.Namespace) -> None:
    user = _user(core, args.username)
    sessions = len(core.sessions.list_user_sessions(user.id))
    outcome = core.accounts.set_password(user.id, _read_password(args))
    if not outcome.ok:
        raise CommandError(outcome.message)
    print(f"password of {user.username} changed; {sessions} session(s) ended")


def list_users(core: AuthCore, args: argparse.Namespace) -> None:
    for user in core.storage.users.list(args.limit):
        print(f"{user.username}\t{user.id}\t{user.created_at:%Y-%m-%d %H:%M:%S}")


def sessions(core: AuthCore, args: argparse.Namespace) -> None:
    user = _user(core, args.username)
    found = core.sessions.list_user_sessions(user.id)
    for s in found:
        print(f"{s.id[:16]}\tcreated {s.created_at:%Y-%m-%d %H:%M}\tlast seen "
              f"{s.last_seen_at:%Y-%m-%d %H:%M}\texpires {s.expires_at:%Y-%m-%d}\t{s.ip}\t"
              f"{s.user_agent[:60]}")
    print(f"{len(found)} active session(s) for {user.username}")


def revoke(core: AuthCore, args: argparse.Namespace) -> None:
    user = _user(core, args.username)
    print(f"ended {core.sessions.invalidate_user_sessions(user.id)} session(s) of "
          f"{user.username}")


def mfa_reset(core: AuthCore, args: argparse.Namespace) -> None:
    """For a user who lost both the phone and the recovery codes: after checking who
    they are by other means, turn the second factor off and end every session."""
    user = _user(core, args.username)
    if not core.accounts.second_factors.enabled(user.id) and \
            core.accounts.second_factors.store.get(user.id) is None:
        raise CommandError(f"{user.username} has no second factor")
    if not args.yes:
        if not sys.stdin.isatty():
            raise CommandError("confirm with --yes (no terminal to ask)")
        try:
            answer = input(f"Turn off the second factor of {user.username} and end all "
                           "their sessions? Type the username to confirm: ")
        except EOFError:
            answer = ""
        if answer.strip().lower() != user.username:
            raise CommandError("not confirmed; nothing changed")
    core.accounts.second_factors.disable(user.id)
    ended = core.sessions.invalidate_user_sessions(user.id)
    print(f"second factor of {user.username} turned off; {ended} session(s) ended")


def purge_expired(core: AuthCore, args: argparse.Namespace) -> None:
    print(f"deleted {core.sessions.delete_expired_sessions()} expired session(s)")


def stats(core: AuthCore, args: argparse.Namespace) -> None:
    now = core.sessions.clock()
    store = core.storage.sessions
    print(f"users\t{core.storage.users.count()}")
    print(f"active sessions\t{store.count(now)}")
    print(f"expired sessions awaiting TTL\t{store.count() - store.count(now)}")


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="auth-admin", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    for name, func, help_ in (("create-user", create_user, "create a user"),
                              ("set-password", set_password,
                               "set a user's password and end all their sessions")):
        p = add(name, func, help_)
        p.add_argument("username")
        p.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin (no prompt)")
    add("list-users", list_users, "list users, by name").add_argument(
        "--limit", type=_positive, default=1000, help="at most this many (default 1000)")
    add("sessions", sessions, "list a user's active sessions").add_argument("username")
    add("revoke", revoke, "end every session of a user").add_argument("username")
    p = add("mfa-reset", mfa_reset,
            "turn a user's second factor off and end their sessions (lost phone and codes)")
    p.add_argument("username")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add("purge-expired", purge_expired, "delete expired sessions now (TTL does it too)")
    add("stats", stats, "count users and sessions")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    core: AuthCore | None = None
    try:
        # The operator's commands run the apps' own flows, without throttling and
        # without the session cache (a one-shot process has nothing to cache).
        core = build_core(load_settings(), cache=False, throttling=False)
        args.func(core, args)
    except (CommandError, SettingsError) as exc:
        print(f"auth-admin: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if core is None or not isinstance(exc, core.storage.Unavailable):
            raise
        print("auth-admin: cannot reach the database (check MONGO_URI)", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
