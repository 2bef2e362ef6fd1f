"""An account's lifecycle: an operator disables (and enables) it; its owner, or an
operator, deletes it. Both end every session of the account at once, under the session
cache's rule (`core.sessions`), and record their event.

Deletion, in this order (each step idempotent, so a crash between any two leaves a
state that is safe and that the same deletion, run again, finishes):

1. every session ends: until the next step nothing is deleted, the owner is logged out;
2. the user is marked `deleting`: from here on log-ins are refused as for a name nobody
   has, and `auth-admin delete` / `finish-deletions` finish the deletion;
3. sessions again (a log-in whose password was checked before the mark);
4. the second factor; 5. passkeys and the challenges stored for them; 6. the counters
   that name the user (throttling);
7. the user's security events lose the name (kept, with the user id as an opaque
   reference, until their retention ends: `SECURITY_EVENTS_RETENTION_DAYS`);
8. the name is retired for as long (sign-up answers "taken"): a new account under the
   name could be mistaken for the old one by people who knew it;
9. the user's document, and the `account_deleted` event (the user id, no name);
10. a last sweep of sessions (a log-in that completed a second factor meanwhile).

A log-in checks the account's state only once the password (or passkey) was right, so a
wrong password is answered alike whatever the state, at the same cost; and it checks it
again once its session is stored, so a log-in racing a disable or a deletion never keeps
a session the disable or deletion did not see (`refuse_closed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from auth_utils.flows.outcomes import INCORRECT, Outcome, Result
from auth_utils.flows.steps import Steps
from auth_utils.services.activity import Actor, Kind
from auth_utils.services.sessions import Session, SessionUser
from auth_utils.storage import (
    CounterStore,
    EventStore,
    IdentityStore,
    PasskeyStore,
    StoredUser,
)

__all__ = ["ACCOUNT_DISABLED", "CONFIRM_DELETE", "PASSKEY", "PASSWORD", "Closed",
           "LifecycleFlows", "refuse_closed"]

ACCOUNT_DISABLED = "This account is disabled. Please contact the operator of this site."
CONFIRM_DELETE = "Type your username to confirm that the account should be deleted."
# Events whose detail holds a name the user chose (a passkey's): emptied at deletion.
_NAMED_KINDS = [Kind.PASSKEY_ADDED.value, Kind.PASSKEY_RENAMED.value, Kind.PASSKEY_USED.value,
                Kind.EMAIL_ADDED.value, Kind.EMAIL_VERIFIED.value, Kind.EMAIL_CHANGED.value,
                Kind.EMAIL_REMOVED.value]


@dataclass(frozen=True)
class Closed:
    """How a log-in flow answers an account it may not open: its usual refusal's result
    and field, and `gone`, its answer for an account that does not exist."""

    result: Result
    field: str | None
    gone: str


PASSWORD = Closed(Result.INCORRECT, None, INCORRECT)
PASSKEY = Closed(Result.INVALID, "passkey", "This passkey's account no longer exists.")


def refuse_closed(steps: Steps, user: StoredUser | None, how: Closed, *, detail: str,
                  ip: str, user_agent: str, username: str = "",
                  started: Session | None = None) -> Outcome | None:
    """None when `user` may log in. Asked once the password (or passkey) was right, and
    again with `started`, the session just stored for it (re-read `user` first): that
    session ends when the account was disabled or its deletion began meanwhile.
    Disabled: the message says to contact the operator (only someone with the password
    learns it). Being deleted, or gone: answered as for a name nobody has, not stored."""
    if user is not None and user.disabled_at is None and user.deleting_at is None:
        return None
    if started is not None:
        steps.sessions.invalidate_session(started.id)
    who = {"ip": ip, "user_agent": user_agent}
    if user is None or user.deleting_at is not None:
        steps.event(Kind.LOGIN_FAILED, None, success=False, detail=detail, **who)
        return Outcome(how.result, how.gone, how.field, username)
    steps.event(Kind.LOGIN_FAILED, user, success=False, detail=f"{detail}: account disabled",
                **who)
    return Outcome(how.result, ACCOUNT_DISABLED, how.field, username)


class LifecycleFlows:
    """Disable, enable, delete. Holds `Steps` and the stores only a deletion empties."""

    def __init__(self, steps: Steps, passkeys: PasskeyStore, counters: CounterStore,
                 events: EventStore, *, retire_for: timedelta,
                 identities: IdentityStore | None = None) -> None:
        self.steps = steps
        self.passkeys = passkeys
        self.counters = counters
        self.events = events
        self.retire_for = retire_for  # how long a deleted account's name stays taken
        self.identities = identities  # linked outside identities, which go with the account

    # -- disable / enable (operators) ----------------------------------------------------

    def disable(self, user: SessionUser, reason: str, *, by: str = "an operator"
                ) -> tuple[Outcome, int]:
        """No more log-ins, and every session ends (how many). The flag first: a log-in
        checked before it then finds it once its session is stored and ends that
        session, so none survives. Run again, it finishes a disable that died half-way."""
        reason = " ".join(reason.split())[:200]
        if not reason:
            return Outcome(Result.INVALID, "Give a reason (it is kept with the account).",
                           "reason", user.username), 0
        steps = self.steps
        if not steps.users.set_disabled(user.id, steps.sessions.clock(), reason):
            return Outcome(Result.INVALID, "There is no such user.", None, user.username), 0
        ended = steps.sessions.invalidate_user_sessions(user.id)
        steps.event(Kind.ACCOUNT_DISABLED, user, detail=f"by {by}")
        if ended:
            steps.event(Kind.SESSION_REVOKED, user,
                        detail=f"{ended} session(s), when the account was disabled")
        return Outcome(Result.OK, username=user.username, user=user), ended

    def enable(self, user: StoredUser, *, by: str = "an operator") -> Outcome:
        if user.deleting_at is not None:
            return Outcome(Result.INVALID, "The account is being deleted.", None, user.username)
        if user.disabled_at is None:
            return Outcome(Result.INVALID, "The account is not disabled.", None, user.username)
        self.steps.users.set_disabled(user.id, None)
        self.steps.event(Kind.ACCOUNT_ENABLED, user, detail=f"by {by}")
        return Outcome(Result.OK, username=user.username)

    # -- deletion ------------------------------------------------------------------------

    def delete_own(self, session: Session, user: SessionUser, confirm: str, *, ip: str = "",
                   user_agent: str = "") -> Outcome:
        """"Delete my account": after a recent re-authentication, with the username typed
        as confirmation. OK once everything is gone (the app then logs the browser out)."""
        if refused := self.steps.require_recent(session, user):
            return refused
        if confirm.strip().lower() != user.username:
            return Outcome(Result.INVALID, CONFIRM_DELETE, "confirm", user.username)
        self.delete(user, by="the user", ip=ip, user_agent=user_agent)
        return Outcome(Result.OK, username=user.username)

    def delete(self, user: SessionUser | StoredUser, *, by: str, ip: str = "",
               user_agent: str = "") -> bool:
        """Delete the user and everything of theirs, in the module's order; also finishes
        a deletion that stopped half-way. True when this call removed the user."""
        steps, sessions = self.steps, self.steps.sessions
        now = sessions.clock()
        record = steps.users.by_id(user.id)
        address = record.email if record else None  # told once the account is gone
        pending = [s.id for s in sessions.list_user_sessions(user.id) if s.pending]
        sessions.invalidate_user_sessions(user.id)
        steps.users.mark_deleting(user.id, now)
        sessions.invalidate_user_sessions(user.id)
        steps.factors.disable(user.id)
        self.passkeys.delete_for_user(user.id)
        if self.identities is not None:  # the identity may then make a new account
            self.identities.delete_for_user(user.id)
        self.counters.forget(steps.throttler.keys_of(user.username, user.id, pending))
        self.events.anonymize(user.id, _NAMED_KINDS)
        steps.users.retire(user.username, now + self.retire_for)
        deleted = steps.users.delete(user.id)
        if deleted:  # once, by whichever run removed it; no name in it
            actor = Actor(user.id, None, ip, user_agent)
            steps.activity.record(Kind.ACCOUNT_DELETED, actor, detail=f"by {by}")
            if steps.notices is not None and address:
                steps.notices.after(Kind.ACCOUNT_DELETED, actor, also_to=(address,))
        sessions.invalidate_user_sessions(user.id)
        return deleted

    def finish_deletions(self, limit: int = 1000) -> list[str]:
        """Finish every deletion that began and stopped (a crash, an outage); the names."""
        unfinished = self.steps.users.deleting(limit)
        for user in unfinished:
            self.delete(user, by="an operator (finishing a deletion)")
        return [user.username for user in unfinished]
