"""`uv run auth-admin`: operator commands on users and sessions, reading MONGO_URI.

Passwords are read without echo (or from stdin with --password-stdin), never from argv.
Every bad input is one line on stderr; exit codes: 0 done, 1 refused (bad input, no such
user, not confirmed), 2 usage (argparse), 3 the database cannot be reached.
Each action's `auth.events` JSON line goes to stderr, as the apps write theirs (stdout
is the command's answer).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence
from datetime import timedelta

from auth_utils.config import SettingsError, load_settings
from auth_utils.core import AuthCore, build_core
from auth_utils.ops.client_commands import clients, keys
from auth_utils.ops.commands import (
    CommandError,
    create_user,
    delete,
    disable,
    enable,
    events,
    finish_deletions,
    list_users,
    mfa_reset,
    outbox,
    purge_expired,
    reset_link,
    revoke,
    sessions,
    stats,
)
from auth_utils.ops.event_log import log_events_to_stderr
from auth_utils.rules.validation import normalize_username
from auth_utils.services.activity import Actor, Kind

__all__ = ["main"]


def _duration(raw: str) -> timedelta:
    """`30m`, `24h`, `7d` (or seconds: `90s`)."""
    match = re.fullmatch(r"(\d{1,6})([smhd])", raw.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration like 30m, 24h or 7d: {raw!r}")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


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

    p = add("create-user", create_user, "create a user (e.g. the first operator's account)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin (no prompt)")
    add("reset-link", reset_link, "print a single-use password-reset link for a user "
        "(30 minutes; the user chooses the password)").add_argument("username")
    add("list-users", list_users, "list users, by name").add_argument(
        "--limit", type=_positive, default=1000, help="at most this many (default 1000)")
    add("sessions", sessions, "list a user's active sessions").add_argument("username")
    add("revoke", revoke, "end every session of a user").add_argument("username")
    p = add("mfa-reset", mfa_reset,
            "turn a user's second factor off and end their sessions (lost phone and codes)")
    p.add_argument("username")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p = add("disable", disable, "no more log-ins for a user, and end all their sessions")
    p.add_argument("username")
    p.add_argument("--reason", help="why (required; kept with the account)")
    add("enable", enable, "let a disabled user log in again").add_argument("username")
    p = add("delete", delete, "delete a user and everything of theirs (or finish a "
            "deletion that stopped half-way)")
    p.add_argument("username")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add("finish-deletions", finish_deletions,
        "finish every account deletion that stopped half-way (a crash, an outage)")
    add("purge-expired", purge_expired, "delete expired sessions now (TTL does it too)")
    add("stats", stats, "count users and sessions")
    p = add("events", events, "security events, newest first")
    p.add_argument("username", nargs="?", help="only this user's")
    p.add_argument("--since", type=_duration, help="only the last 30m, 24h, 7d...")
    p.add_argument("--kind", help="only this kind (e.g. login_failed)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--limit", type=_positive, default=1000, help="at most this many")
    p = add("outbox", outbox, "mail: counts by status, then messages newest first (created, "
            "status, attempts, next attempt or delivery time, kind, to, Message-ID, last "
            "error)")
    p.add_argument("--status", choices=("pending", "delivered", "failed"),
                   help="only messages in this state")
    p.add_argument("--limit", type=_positive, default=50, help="at most this many (50)")
    p.add_argument("--requeue", nargs="?", const="", metavar="MESSAGE_ID",
                   help="send failed messages (or the one with this Message-ID) again, "
                        "e.g. once SMTP works again")
    p = add("clients", clients, "apps on other domains that log in with us (OpenID "
            "Connect): add, list, remove, logouts")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("add", help="register a client; prints its id (and its secret, "
                           "once)")
    a.add_argument("name", help="shown to users on the consent page")
    a.add_argument("--redirect-uri", action="append", required=True,
                   help="exact callback URL (repeat for more)")
    a.add_argument("--public", action="store_true",
                   help="no secret (a mobile or browser app): PKCE alone")
    a.add_argument("--first-party", action="store_true",
                   help="ours: users are not asked for consent")
    a.add_argument("--post-logout-redirect-uri", action="append",
                   help="where RP-initiated log-out may send the browser")
    a.add_argument("--backchannel-logout-uri",
                   help="where Logout Tokens are POSTed when a session it got tokens "
                        "from ends (OIDC Back-Channel Logout 1.0)")
    actions.add_parser("list", help="the registered clients")
    lo = actions.add_parser(
        "logouts", help="back-channel log-outs: counts by status, then newest first (when "
        "the session ended, status, attempts, client id and name, user, last error); "
        "'failed' means the client never answered 200 after every retry (about 12 h) and "
        "may still hold that session",
        description="Back-channel log-outs (OpenID Connect Back-Channel Logout 1.0): "
        "counts by status (armed: the session lives; pending: being delivered; delivered; "
        "failed: no 200 after every retry), then records newest first.")
    which = lo.add_mutually_exclusive_group()
    which.add_argument("--failed", action="store_true",
                       help="only those that failed after their retries")
    which.add_argument("--status", choices=("armed", "pending", "delivered", "failed"),
                       help="only records in this state")
    which.add_argument("--requeue", action="store_true",
                       help="try the failed ones again from now (e.g. once the client's "
                            "endpoint works)")
    lo.add_argument("--client", metavar="CLIENT_ID", help="only this client's")
    lo.add_argument("--limit", type=_positive, default=50, help="at most this many (50)")
    r = actions.add_parser("remove", help="remove a client; its tokens stop working")
    r.add_argument("client_id")
    p = add("keys", keys, "the provider's signing keys: list, or rotate (the published "
            "next key starts signing; the old one stays published for two days)")
    p.add_argument("action", choices=("list", "rotate"))
    return parser


def _record(core: AuthCore, args: argparse.Namespace) -> None:
    """Every operator action is itself an event (after it succeeded)."""
    user = None
    if getattr(args, "username", None):
        user = core.storage.users.by_username(normalize_username(args.username))
    core.activity.record(
        Kind.ADMIN, Actor(user.id if user else None, user.username if user else None,
                          user_agent="auth-admin"),
        detail=f"auth-admin {args.command}")


GONE = {"set-password": "set-password is gone: an operator never chooses a user's password "
                        "(ASVS 6.4.6); print a reset link with `auth-admin reset-link USER`"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in GONE:
        print(f"auth-admin: {GONE[argv[0]]}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    # An operator's action is an event like any other: its JSON line reaches the log
    # pipeline that ships the apps' (stderr), not only the stored activity log.
    log_events_to_stderr()
    # The apps' warning when the database stops answering (with pymongo's topology
    # description) is for their logs; here the one line below says it.
    quiet = logging.getLogger("auth_utils.availability")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    core: AuthCore | None = None
    try:
        # The operator's commands run the apps' own flows, without throttling and
        # without the session cache (a one-shot process has nothing to cache).
        core = build_core(load_settings(), cache=False, throttling=False)
        args.func(core, args)
        _record(core, args)
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
