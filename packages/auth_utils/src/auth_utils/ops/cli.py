"""`uv run auth-admin`: operator commands on users and sessions, reading MONGO_URI.

Passwords are read without echo (or from stdin with --password-stdin), never from argv.
Every bad input is one line on stderr; exit codes: 0 done, 1 refused (bad input, no such
user, not confirmed), 2 usage (argparse), 3 the database cannot be reached.
Each action's `auth.events` JSON line goes to stderr, as the apps write theirs (stdout
is the command's answer).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import re
import sys
import time
from collections.abc import Sequence
from datetime import timedelta

from auth_utils.config import SettingsError, load_settings
from auth_utils.core import AuthCore, build_core
from auth_utils.ops.event_log import log_events_to_stderr
from auth_utils.rules.validation import normalize_username, validate_password, validate_username
from auth_utils.services.activity import Actor, Kind
from auth_utils.services.sessions import SessionUser
from auth_utils.storage import StoredUser

__all__ = ["main"]


class CommandError(Exception):
    """Shown to the operator as `auth-admin: <message>` with exit code 1."""


def _read_password(args: argparse.Namespace, core: AuthCore, username: str) -> str:
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
    if message := validate_password(password, username=username,
                                    site_words=core.settings.site_words):
        raise CommandError(message)
    return password


def _user(core: AuthCore, raw: str) -> StoredUser:
    username = normalize_username(raw)
    user = core.storage.users.by_username(username)
    if user is None:
        raise CommandError(f"no user named {username!r}")
    return user


def _settle(core: AuthCore) -> None:
    """Before saying sessions ended: the apps' session caches may still serve them for
    `SESSION_CACHE_MAX_LAG_MS` after the deletion (the cache's rule counts from the
    answer; this process has no cache of its own that would wait)."""
    if core.settings.session_cache:
        time.sleep(core.settings.session_cache_max_lag)


def _confirmed(args: argparse.Namespace, question: str, username: str) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise CommandError("confirm with --yes (no terminal to ask)")
    try:
        answer = input(f"{question} Type the username to confirm: ")
    except EOFError:
        answer = ""
    if answer.strip().lower() != username:
        raise CommandError("not confirmed; nothing changed")


def create_user(core: AuthCore, args: argparse.Namespace) -> None:
    username = normalize_username(args.username)
    if message := validate_username(username):  # before asking for a password
        raise CommandError(message)
    password = _read_password(args, core, username)
    outcome = core.accounts.register(args.username, password)
    if not outcome.ok:
        raise CommandError(outcome.message)
    print(f"created user {outcome.user.username} (id {outcome.user.id})")


def reset_link(core: AuthCore, args: argparse.Namespace) -> None:
    """A password-reset link for a user who cannot use "Forgot your password?" (no
    verified address). The operator hands it over; the user chooses the password, and
    gives their second factor too when it is on."""
    link = core.recovery.link_for_operator(args.username)
    if link is None:
        raise CommandError(f"no user named {normalize_username(args.username)!r}")
    print(link)
    print("auth-admin: the link works once, for 30 minutes, and only until a newer one is "
          "made; check who you give it to (see the README) and send it privately",
          file=sys.stderr)


def list_users(core: AuthCore, args: argparse.Namespace) -> None:
    for user in core.storage.users.list(args.limit):
        state = "\tbeing deleted" if user.deleting_at else \
            f"\tdisabled: {user.disabled_reason}" if user.disabled_at else ""
        print(f"{user.username}\t{user.id}\t{user.created_at:%Y-%m-%d %H:%M:%S}{state}")


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
    ended = core.accounts.revoke_other_sessions(SessionUser(user.id, user.username), keep=None,
                                                by="an operator")
    _settle(core)
    print(f"ended {ended} session(s) of {user.username}")


def mfa_reset(core: AuthCore, args: argparse.Namespace) -> None:
    """For a user who lost both the phone and the recovery codes: after checking who
    they are by other means, turn the second factor off and end every session."""
    user = _user(core, args.username)
    if not core.second_factor.enabled(user.id) and \
            core.second_factor.factors.store.get(user.id) is None:
        raise CommandError(f"{user.username} has no second factor")
    _confirmed(args, f"Turn off the second factor of {user.username} and end all their "
               "sessions?", user.username)
    ended = core.second_factor.reset_by_operator(SessionUser(user.id, user.username))
    _settle(core)
    print(f"second factor of {user.username} turned off; {ended} session(s) ended")


def disable(core: AuthCore, args: argparse.Namespace) -> None:
    """No more log-ins (by password or passkey) and every session ended, in both apps."""
    user = _user(core, args.username)
    if not (args.reason or "").strip():
        raise CommandError("say why with --reason TEXT (it is kept with the account)")
    outcome, ended = core.lifecycle.disable(SessionUser(user.id, user.username), args.reason)
    if not outcome.ok:
        raise CommandError(outcome.message)
    _settle(core)
    print(f"{user.username} disabled; {ended} session(s) ended")


def enable(core: AuthCore, args: argparse.Namespace) -> None:
    user = _user(core, args.username)
    outcome = core.lifecycle.enable(user)
    if not outcome.ok:
        raise CommandError(f"{user.username}: {outcome.message}")
    print(f"{user.username} enabled; they can log in again")


def delete(core: AuthCore, args: argparse.Namespace) -> None:
    """Delete a user and everything of theirs (or finish a deletion that stopped)."""
    user = _user(core, args.username)
    _confirmed(args, f"Delete {user.username} and everything of theirs?", user.username)
    core.lifecycle.delete(user, by="an operator")
    _settle(core)
    print(f"{user.username} deleted")


def finish_deletions(core: AuthCore, args: argparse.Namespace) -> None:
    finished = core.lifecycle.finish_deletions()
    _settle(core)
    print(f"finished {len(finished)} deletion(s){': ' if finished else ''}"
          + ", ".join(finished))


def purge_expired(core: AuthCore, args: argparse.Namespace) -> None:
    print(f"deleted {core.sessions.delete_expired_sessions()} expired session(s)")


def stats(core: AuthCore, args: argparse.Namespace) -> None:
    now = core.sessions.clock()
    store = core.storage.sessions
    print(f"users\t{core.storage.users.count()}")
    print(f"active sessions\t{store.count(now)}")
    print(f"expired sessions awaiting TTL\t{store.count() - store.count(now)}")


def outbox(core: AuthCore, args: argparse.Namespace) -> None:
    """What the mail senders have to do and have done (bodies are never shown: they are
    sealed, and gone once delivered)."""
    if args.requeue is not None:
        count = core.outbox.requeue(args.requeue or None)
        print(f"{count} failed message(s) queued again")
        return
    counts = core.outbox.counts()
    print("\t".join(f"{status} {count}" for status, count in counts.items()))
    for m in core.outbox.list(args.status, args.limit):
        when = m.delivered_at if m.status == "delivered" else m.next_attempt_at
        print(f"{m.created_at:%Y-%m-%d %H:%M:%S}\t{m.status}\t{m.attempts} attempt(s)\t"
              f"{when:%Y-%m-%d %H:%M:%S}\t{m.kind or '-'}\t{m.to}\t{m.message_id}\t"
              f"{m.last_error or '-'}")


def clients(core: AuthCore, args: argparse.Namespace) -> None:
    """Relying parties of our OpenID Connect provider (apps on other domains)."""
    openid = core.openid
    if args.action == "add":
        try:
            client_id, secret = openid.register(
                args.name, args.redirect_uri, public=args.public,
                first_party=args.first_party,
                post_logout_redirect_uris=args.post_logout_redirect_uri or [],
                backchannel_logout_uri=args.backchannel_logout_uri or "")
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        print(f"client_id\t{client_id}")
        if secret:
            print(f"client_secret\t{secret}")
            print("auth-admin: the secret is shown this once (only its hash is kept); store "
                  "it in the client's secret store now", file=sys.stderr)
        print(f"issuer\t{core.settings.landing_url}")
    elif args.action == "list":
        for c in openid.clients():
            kind = "public" if c.public else "confidential"
            party = "first-party" if c.first_party else "asks consent"
            print(f"{c.id}\t{c.name}\t{kind}\t{party}\t{' '.join(c.redirect_uris)}\t"
                  f"{c.created_at:%Y-%m-%d}")
    elif not openid.remove(args.client_id):
        raise CommandError(f"no client {args.client_id!r}")
    else:
        print(f"client {args.client_id} removed; its tokens no longer work")


def keys(core: AuthCore, args: argparse.Namespace) -> None:
    """The provider's ID-token signing keys; `rotate` with a published overlap."""
    signing = core.openid.keys
    if args.action == "rotate":
        print(f"now signing with {signing.rotate()}")
    for k in signing.list():
        print(f"{k.kid}\t{k.state}\t{k.created_at:%Y-%m-%d %H:%M:%S}")


def _duration(raw: str) -> timedelta:
    """`30m`, `24h`, `7d` (or seconds: `90s`)."""
    match = re.fullmatch(r"(\d{1,6})([smhd])", raw.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration like 30m, 24h or 7d: {raw!r}")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def events(core: AuthCore, args: argparse.Namespace) -> None:
    user = _user(core, args.username) if args.username else None
    since = core.sessions.clock() - args.since if args.since else None
    kind = args.kind
    if kind is not None and kind not in {k.value for k in Kind}:
        raise CommandError(f"no event kind {kind!r}; kinds: "
                           + ", ".join(sorted(k.value for k in Kind)))
    found = core.storage.events.query(user_id=user.id if user else None, since=since,
                                      kind=kind, limit=args.limit)
    for e in found:
        fields = {"at": e.at.isoformat(), "kind": e.kind, "outcome": e.outcome,
                  "user_id": e.user_id, "username": e.username, "ip": e.ip,
                  "browser": e.browser, "session_ref": e.session_ref, "detail": e.detail}
        if args.json:
            print(json.dumps(fields))
        else:
            print(f"{e.at:%Y-%m-%d %H:%M:%S}\t{e.kind}\t{e.outcome}\t{e.username or '-'}\t"
                  f"{e.ip or '-'}\t{e.browser or '-'}\t{e.detail}")
    if not args.json:
        print(f"{len(found)} event(s)", file=sys.stderr)


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
            "Connect): add, list, remove")
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
