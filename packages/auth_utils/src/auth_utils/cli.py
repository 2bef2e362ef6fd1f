"""`uv run auth-admin`: operator commands on users and sessions, reading MONGO_URI.

Passwords are read without echo (or from stdin with --password-stdin), never from argv.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

import db_utils
from auth_utils.clock import utc_now
from auth_utils.config import SettingsError, load_settings
from auth_utils.passwords import hash_password
from auth_utils.sessions import SessionManager
from auth_utils.validation import normalize_username, validate_password, validate_username
from db_utils import sessions as session_store
from db_utils import users as user_store

__all__ = ["main"]


class CommandError(Exception):
    """Shown to the operator as `auth-admin: <message>` with exit code 1."""


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("the two passwords do not match")
    if message := validate_password(password):
        raise CommandError(message)
    return password


def _user(raw: str) -> db_utils.UserRecord:
    username = normalize_username(raw)
    user = user_store.get_user_by_username(username)
    if user is None:
        raise CommandError(f"no user named {username!r}")
    return user


def create_user(args: argparse.Namespace) -> None:
    username = normalize_username(args.username)
    if message := validate_username(username):
        raise CommandError(message)
    password = _read_password(args)
    try:
        user = user_store.create_user(username, hash_password(password), now=utc_now())
    except db_utils.UsernameTaken:
        raise CommandError(f"the username {username!r} is taken") from None
    print(f"created user {user.username} (id {user.id})")


def set_password(args: argparse.Namespace) -> None:
    user = _user(args.username)
    user_store.set_password_hash(user.id, hash_password(_read_password(args)))
    ended = session_store.delete_user_sessions(user.id)
    print(f"password of {user.username} changed; {ended} session(s) ended")


def list_users(args: argparse.Namespace) -> None:
    for user in user_store.list_users(limit=args.limit):
        print(f"{user.username}\t{user.id}\t{user.created_at:%Y-%m-%d %H:%M:%S}")


def sessions(args: argparse.Namespace) -> None:
    user = _user(args.username)
    found = SessionManager().list_user_sessions(user.id)
    for s in found:
        print(f"{s.id[:16]}\tcreated {s.created_at:%Y-%m-%d %H:%M}\tlast seen "
              f"{s.last_seen_at:%Y-%m-%d %H:%M}\texpires {s.expires_at:%Y-%m-%d}\t{s.ip}\t"
              f"{s.user_agent[:60]}")
    print(f"{len(found)} active session(s) for {user.username}")


def revoke(args: argparse.Namespace) -> None:
    user = _user(args.username)
    print(f"ended {SessionManager().invalidate_user_sessions(user.id)} session(s) of "
          f"{user.username}")


def purge_expired(args: argparse.Namespace) -> None:
    print(f"deleted {SessionManager().delete_expired_sessions()} expired session(s)")


def stats(args: argparse.Namespace) -> None:
    now = utc_now()
    print(f"users\t{user_store.count_users()}")
    print(f"active sessions\t{session_store.count_sessions(now)}")
    print(f"expired sessions awaiting TTL\t"
          f"{session_store.count_sessions() - session_store.count_sessions(now)}")


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
        "--limit", type=int, default=1000, help="at most this many (default 1000)")
    add("sessions", sessions, "list a user's active sessions").add_argument("username")
    add("revoke", revoke, "end every session of a user").add_argument("username")
    add("purge-expired", purge_expired, "delete expired sessions now (TTL does it too)")
    add("stats", stats, "count users and sessions")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        db_utils.connect(settings.mongo_uri)
        args.func(args)
    except (CommandError, SettingsError) as exc:
        print(f"auth-admin: {exc}", file=sys.stderr)
        return 1
    except db_utils.DatabaseUnavailable:
        print("auth-admin: cannot reach the database (check MONGO_URI)", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
