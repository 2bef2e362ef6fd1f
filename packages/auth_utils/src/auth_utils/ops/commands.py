"""What each `auth-admin` command on users, sessions, mail and events does, through the
apps' own flows; the parser and the exit codes are in `cli.py`."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time

from auth_utils.core import AuthCore
from auth_utils.rules.validation import normalize_username, validate_password, validate_username
from auth_utils.services.activity import Kind
from auth_utils.services.sessions import SessionUser
from auth_utils.storage import StoredUser

__all__ = ["CommandError", "create_user", "delete", "disable", "enable", "events",
           "finish_deletions", "list_users", "mfa_reset", "outbox", "purge_expired",
           "reset_link", "revoke", "sessions", "stats"]


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
