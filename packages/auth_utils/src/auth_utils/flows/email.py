"""An account's e-mail address: optional, one per account, counted only once verified.

Adding or changing it mails a single-use link (256 bits, only its hash stored, 24 hours,
replaced by a newer one) to the new address; until it is followed, the old verified
address (if any) stays the account's, and the new one blocks nobody. Following it makes
the address the verified one in the same update that uses the token up; the unique index
on the verified key gives an address to one account at most. Adding, changing or
removing it in the web app needs a recent re-authentication (a stolen session must not
point the account's password resets at its thief's mailbox); giving one at sign-up does
not. A change or removal notifies the old address.
"""

from __future__ import annotations

from datetime import timedelta

from auth_utils.flows.outcomes import Outcome, Result, throttled_outcome
from auth_utils.flows.steps import Steps
from auth_utils.rules.emails import Address, parse_address
from auth_utils.rules.tokens import hash_link_token, new_link_token
from auth_utils.services.activity import Kind
from auth_utils.services.mail import Outbox
from auth_utils.services.notices import Links, compose
from auth_utils.services.sessions import Session, SessionUser
from auth_utils.storage import AddressTaken, StoredUser

__all__ = ["LINK_ENDED", "VERIFY_LIFETIME", "EmailFlows", "masked"]

VERIFY_LIFETIME = timedelta(hours=24)
LINK_ENDED = ("This verification link is no longer valid: it was used, replaced by a newer "
              "one, or it expired (after 24 hours). Add the address again in your account.")
TAKEN = "That address is already verified on another account."


def masked(address: str) -> str:
    """`b***@example.com`: what the activity log keeps of an address."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


class EmailFlows:
    """The account's address; holds `Steps`, the outbox and where links point."""

    def __init__(self, steps: Steps, outbox: Outbox, links: Links) -> None:
        self.steps = steps
        self.outbox = outbox
        self.links = links

    @property
    def available(self) -> bool:
        """False with MAIL=off: no address can be verified, so the pages hide it."""
        return self.outbox.enabled

    def of(self, user_id: str) -> StoredUser | None:
        """The user's record: `email` (verified) and `pending_email` for the page."""
        return self.steps.users.by_id(user_id)

    def check(self, raw: str) -> Address | Outcome:
        """The address, or the INVALID outcome that says what is wrong (sign-up asks this
        before it creates the account)."""
        parsed = parse_address(raw)
        if isinstance(parsed, str):
            return Outcome(Result.INVALID, parsed, "email")
        return parsed

    def add(self, session: Session | None, user: SessionUser, raw: str, *, ip: str = "",
            user_agent: str = "", at_signup: bool = False) -> Outcome:
        """Mail a verification link to `raw` (the account's address once followed)."""
        if not self.available:
            return Outcome(Result.INVALID, "This site sends no email, so no address can be "
                           "added.", "email", user.username)
        if not at_signup:
            if session is None:
                return Outcome(Result.REAUTH, username=user.username)
            if refused := self.steps.require_recent(session, user):
                return refused
        parsed = self.check(raw)
        if isinstance(parsed, Outcome):
            return parsed
        record = self.of(user.id)
        if record and record.email and record.email.lower() == parsed.key:
            return Outcome(Result.INVALID, "That is already your verified address.", "email",
                           user.username)
        attempt = self.steps.throttler.begin_verification_mail(user.id)
        if not attempt.allowed:
            return throttled_outcome(attempt, user.username)
        token, token_hash = new_link_token()
        self.steps.users.set_token(user.id, "email", token_hash,
                                   self.steps.sessions.clock() + VERIFY_LIFETIME,
                                   pending_email=parsed.address)
        self.steps.event(Kind.EMAIL_ADDED, user, ip=ip, user_agent=user_agent,
                         session_id=session.id if session else None,
                         detail=f"{masked(parsed.address)}: verification link mailed")
        self.outbox.enqueue(compose(
            self.links, to=parsed.address, subject="Verify your email address",
            username=user.username,
            lines=[f"Confirm that this address belongs to the account {user.username!r}:\n"
                   f"{self.links.verify_email(token)}",
                   "The link works once, for 24 hours. If you did not ask for this, ignore "
                   "this message: nothing changes."],
            why="this address was given for an account", kind="email_verification",
            user_id=user.id))
        return Outcome(Result.OK, username=user.username)

    def open_link(self, token: str) -> StoredUser | None:
        """The account a verification link is for, while valid (nothing used up)."""
        token_hash = hash_link_token(token)
        if token_hash is None:
            return None
        user = self.steps.users.by_token("email", token_hash, self.steps.sessions.clock())
        if user is None or not user.pending_email or user.deleting_at:
            return None
        return user

    def verify(self, token: str, *, ip: str = "", user_agent: str = "") -> Outcome:
        """Follow the link: the pending address becomes the verified one (once)."""
        user = self.open_link(token)
        if user is None or not user.pending_email:
            return Outcome(Result.ENDED, LINK_ENDED)
        parsed = parse_address(user.pending_email)
        if isinstance(parsed, str):  # stored by an older rule: ask for it again
            return Outcome(Result.ENDED, LINK_ENDED, None, user.username)
        old = user.email
        try:
            taken = self.steps.users.take_email_token(
                user.id, hash_link_token(token) or "", parsed.address, parsed.key,
                self.steps.sessions.clock())
        except AddressTaken:
            return Outcome(Result.TAKEN, TAKEN, None, user.username)
        if not taken:
            return Outcome(Result.ENDED, LINK_ENDED, None, user.username)
        who = {"ip": ip, "user_agent": user_agent}
        if old and old.lower() != parsed.key:
            self.steps.event(Kind.EMAIL_CHANGED, user, also_to=(old,), **who,
                             detail=f"{masked(old)} -> {masked(parsed.address)}")
        else:
            self.steps.event(Kind.EMAIL_VERIFIED, user, detail=masked(parsed.address), **who)
        return Outcome(Result.OK, username=user.username)

    def remove(self, session: Session, user: SessionUser, *, ip: str = "",
               user_agent: str = "") -> Outcome:
        """Remove the address (verified or waiting); the old one is told."""
        if refused := self.steps.require_recent(session, user):
            return refused
        record = self.of(user.id)
        old = record.email if record else None
        if record is None or not (old or record.pending_email):
            return Outcome(Result.INVALID, "Your account has no email address.", "email",
                           user.username)
        self.steps.users.remove_email(user.id)
        self.steps.event(Kind.EMAIL_REMOVED, user, session_id=session.id, ip=ip,
                         user_agent=user_agent, also_to=(old,) if old else (),
                         detail=masked(old or record.pending_email or ""))
        return Outcome(Result.OK, username=user.username)
