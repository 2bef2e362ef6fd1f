"""The security activity log: every authentication event, stored (TTL) for the user's
activity page and `auth-admin events`, and written as one JSON line to the log.

Recording never fails the request it belongs to: a storage error while recording is
itself logged and the request goes on. A failed log-in of a real user is stored by a
writer thread (`EventWriter`), after the answer: an unknown name stores nothing, so a
write on the request's path would tell the two apart by time. An event never holds a
token, a password, a secret, a code or a full session id (`session_ref` is a short
one-way reference).
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from auth_utils.rules.agents import describe_user_agent
from auth_utils.rules.clock import Clock, utc_now
from auth_utils.services.event_writer import EventWriter, FlushedEventStore
from auth_utils.services.metrics import SECURITY_EVENTS
from auth_utils.storage import EventStore, StoredEvent

__all__ = ["Activity", "Kind", "session_ref"]

log = logging.getLogger("auth.events")


class Kind(enum.StrEnum):
    SIGNUP = "signup"
    LOGIN = "login"
    LOGIN_PENDING = "login_pending"  # the password was right; the second factor is asked
    LOGIN_CANCELLED = "login_cancelled"  # "Cancel" on the code page ended a pending log-in
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    SECOND_FACTOR_PASSED = "second_factor_passed"
    SECOND_FACTOR_FAILED = "second_factor_failed"
    RECOVERY_CODE_USED = "recovery_code_used"
    LOGOUT = "logout"
    SESSION_REVOKED = "session_revoked"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name
    SECOND_FACTOR_SETUP = "second_factor_setup"  # a new secret to scan (not yet on)
    SECOND_FACTOR_ON = "second_factor_on"
    SECOND_FACTOR_OFF = "second_factor_off"
    RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
    BROWSER_TRUSTED = "browser_trusted"  # the code is skipped there for 30 days
    BROWSER_FORGOTTEN = "browser_forgotten"
    REAUTHENTICATED = "reauthenticated"
    # A signed-in user's wrong password or code when confirming a change: counted like a
    # failed log-in, but not news to the session that typed it.
    REAUTH_FAILED = "reauth_failed"
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_RENAMED = "passkey_renamed"
    PASSKEY_REMOVED = "passkey_removed"
    PASSKEY_USED = "passkey_used"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_ENABLED = "account_enabled"
    ACCOUNT_DELETED = "account_deleted"  # stored with the user id only (no name)
    NEW_BROWSER = "new_browser"  # a log-in from a browser this account had not used
    PASSWORD_RESET_REQUESTED = "password_reset_requested"  # noqa: S105 - an event name
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an event name
    EMAIL_ADDED = "email_added"  # an address to verify (a link was mailed to it)
    EMAIL_VERIFIED = "email_verified"  # the account's first verified address
    EMAIL_CHANGED = "email_changed"  # a new verified address replaced the old one
    EMAIL_REMOVED = "email_removed"
    ADMIN = "admin"  # every auth-admin action; `detail` says which
    IDENTITY_LINKED = "identity_linked"  # an outside (OpenID Connect) identity
    IDENTITY_UNLINKED = "identity_unlinked"
    CLIENT_AUTHORIZED = "client_authorized"  # consent to an app using our log-in (OIDC)
    CLIENT_REVOKED = "client_revoked"  # that consent withdrawn: the app's tokens revoked
    TOKEN_REUSE = "token_reuse"  # noqa: S105 - an event name; a used code or refresh token came back: all revoked


TITLES = {
    Kind.SIGNUP: "Account created", Kind.LOGIN: "Logged in",
    Kind.LOGIN_PENDING: "Password entered (second factor asked)",
    Kind.LOGIN_CANCELLED: "Log-in cancelled at the second factor",
    Kind.LOGIN_FAILED: "Failed log-in", Kind.LOGIN_THROTTLED: "Log-in blocked (too many tries)",
    Kind.SECOND_FACTOR_PASSED: "Second factor given", Kind.SECOND_FACTOR_FAILED:
    "Wrong second-factor code", Kind.RECOVERY_CODE_USED: "Recovery code used",
    Kind.LOGOUT: "Logged out", Kind.SESSION_REVOKED: "Session ended",
    Kind.PASSWORD_CHANGED: "Password changed", Kind.SECOND_FACTOR_ON: "Second factor on",
    Kind.SECOND_FACTOR_OFF: "Second factor off",
    Kind.RECOVERY_CODES_REGENERATED: "New recovery codes",
    Kind.BROWSER_TRUSTED: "Browser trusted (no code for 30 days)",
    Kind.BROWSER_FORGOTTEN: "Trusted browser forgotten",
    Kind.REAUTHENTICATED: "Password entered again", Kind.ADMIN: "Operator action",
    Kind.REAUTH_FAILED: "Wrong password or code when confirming a change",
    Kind.PASSKEY_ADDED: "Passkey added", Kind.PASSKEY_RENAMED: "Passkey renamed",
    Kind.SECOND_FACTOR_SETUP: "Second factor set-up started",
    Kind.PASSKEY_REMOVED: "Passkey removed",
    Kind.PASSKEY_USED: "Logged in with a passkey",
    Kind.ACCOUNT_DISABLED: "Account disabled", Kind.ACCOUNT_ENABLED: "Account enabled again",
    Kind.ACCOUNT_DELETED: "Account deleted",
    Kind.NEW_BROWSER: "Log-in from a new browser",
    Kind.PASSWORD_RESET_REQUESTED: "Password reset link asked for",
    Kind.PASSWORD_RESET: "Password reset by link", Kind.EMAIL_ADDED: "Email address added",
    Kind.EMAIL_VERIFIED: "Email address verified", Kind.EMAIL_CHANGED: "Email address changed",
    Kind.EMAIL_REMOVED: "Email address removed",
    Kind.IDENTITY_LINKED: "Outside log-in linked", Kind.IDENTITY_UNLINKED:
    "Outside log-in unlinked",
    Kind.CLIENT_AUTHORIZED: "App allowed to use your log-in",
    Kind.CLIENT_REVOKED: "App's access to your log-in withdrawn",
    Kind.TOKEN_REUSE: "An app's used token came back (revoked)",
}
FAILED_LOGINS = [Kind.LOGIN_FAILED.value, Kind.SECOND_FACTOR_FAILED.value,
                 Kind.REAUTH_FAILED.value]


def session_ref(session_id: str | None) -> str:
    """Ten hex characters of a one-way hash: enough to tell sessions apart in a list,
    useless to find or use one."""
    if not session_id:
        return ""
    return hashlib.sha256(f"session-ref:{session_id}".encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Actor:
    """Who and where: what every event records about the request."""

    user_id: str | None = None
    username: str | None = None
    ip: str = ""
    user_agent: str = ""
    session_id: str | None = None


class Activity:
    def __init__(self, store: EventStore, *, unavailable: type[Exception],
                 retention: timedelta = timedelta(days=180), clock: Clock = utc_now) -> None:
        self.writer = EventWriter(self._store)
        self.store = FlushedEventStore(store, self.writer)
        self.retention = retention
        self.clock = clock
        self.unavailable = unavailable  # the storage's "database down" error

    def record(self, kind: Kind, actor: Actor, *, success: bool = True, detail: str = "",
               store: bool = True, later: bool = False) -> None:
        """Log one JSON line and store the event (`store=False`: log only, e.g. a failed
        log-in for a name nobody has: no per-user record, no enumeration; `later`: stored
        by the writer thread, after the request has been answered)."""
        now = self.clock()
        event = {
            "at": now, "kind": kind.value, "outcome": "success" if success else "failure",
            "user_id": actor.user_id, "username": actor.username, "ip": actor.ip[:64],
            "browser": describe_user_agent(actor.user_agent)[:80],
            "session_ref": session_ref(actor.session_id), "detail": detail[:200],
        }
        log.info(json.dumps({**event, "at": now.isoformat(), "event": "auth"}))
        SECURITY_EVENTS.labels(event["kind"], event["outcome"]).inc()
        if not store:
            return
        if later:
            self.writer.submit(kind, event)
        else:
            self._store(kind, event)

    def _store(self, kind: Kind, event: dict) -> None:
        try:
            self.store.add(expires_at=event["at"] + self.retention, **event)
        except self.unavailable as error:  # an outage: one line per event, no traceback
            log.warning("could not store security event %s: %s", kind.value, error)
        except Exception:  # the request goes on; the failure is logged, never hidden
            log.exception("could not store security event %s", kind.value)

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until the events recorded `later` so far are stored (see EventWriter)."""
        return self.writer.flush(timeout)

    def close(self) -> None:
        self.writer.close()

    def page(self, user_id: str, page: int, per_page: int = 20) -> list[StoredEvent]:
        return self.store.for_user(user_id, max(0, page - 1) * per_page, per_page)

    def failed_logins_since(self, user_id: str, since: datetime, *,
                            not_session: str | None = None) -> int:
        """Failed log-ins, wrong codes and wrong re-authentications after `since`, but
        those typed in session `not_session` (the user's own typos)."""
        return self.store.count_for_user(user_id, FAILED_LOGINS, since,
                                         not_session_ref=session_ref(not_session))
