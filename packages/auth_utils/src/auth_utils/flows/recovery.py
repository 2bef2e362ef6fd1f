"""A way back in: password reset by a link mailed to the verified address, or printed
for an operator (`auth-admin reset-link`), never by an operator choosing the password.

The request answers the same page at the same cost whatever was typed: it is counted
(per client and per what was typed), then everything that depends on whether an account
matched (the lookup, the token, the mail) runs after the answer, on a background worker.

The link's token: 256 random bits, only its SHA-256 stored on the user, 30 minutes; one
per user (a newer one replaces it), used up by one conditional update (of racing
submissions exactly one wins), and removed with any change of password. The page asks
for the new password and, when the account has a second factor, a code or a recovery
code as well (ASVS 6.4.3: a reset never bypasses it). Success ends every session of the
user, forgets the trusted browsers and sends a notice.
"""

from __future__ import annotations

from datetime import timedelta

from auth_utils.flows.outcomes import THROTTLED, WRONG_CODE, Outcome, Result, busy_outcome
from auth_utils.flows.steps import Steps
from auth_utils.rules.emails import ADDRESS_MAX, parse_address
from auth_utils.rules.password_policy import APP_WORDS
from auth_utils.rules.passwords import HasherBusy, hash_password
from auth_utils.rules.tokens import hash_link_token, new_link_token
from auth_utils.rules.validation import normalize_username, validate_password
from auth_utils.services.activity import Kind
from auth_utils.services.background import Background
from auth_utils.services.mail import Outbox
from auth_utils.services.notices import Links, compose
from auth_utils.services.second_factor import Check
from auth_utils.services.sessions import SessionUser
from auth_utils.storage import StoredUser

__all__ = ["LINK_ENDED", "RESET_LIFETIME", "RecoveryFlows"]

RESET_LIFETIME = timedelta(minutes=30)
LINK_ENDED = ("This reset link is no longer valid: it was used, replaced by a newer one, "
              "or it expired (after 30 minutes). Ask for a new one.")
ASK = "Enter your username or email address."


class RecoveryFlows:
    """Password reset; holds `Steps`, the outbox and where links point."""

    def __init__(self, steps: Steps, outbox: Outbox, links: Links, *,
                 site_words: tuple[str, ...] = APP_WORDS) -> None:
        self.steps = steps
        self.outbox = outbox
        self.links = links
        self.site_words = site_words
        self.background = Background("password-reset",
                                     retry_on=(steps.availability.unavailable,))

    @property
    def available(self) -> bool:
        """False with MAIL=off: the pages hide the form and say what to do instead."""
        return self.outbox.enabled

    # -- asking for a link -----------------------------------------------------------------

    def request_reset(self, raw: str, *, ip: str, user_agent: str = "") -> Outcome:
        """"Forgot your password?": OK (the same answer for every name or address, real
        or not), INVALID for an empty form, THROTTLED over the limits."""
        asked = raw.strip()[:ADDRESS_MAX]
        if not asked:
            return Outcome(Result.INVALID, ASK, "identifier")
        attempt = self.steps.throttler.begin_reset(asked.lower(), ip)
        if not attempt.allowed:
            self.steps.event(Kind.LOGIN_THROTTLED, None, ip=ip, user_agent=user_agent,
                             success=False, detail="password reset")
            return Outcome(Result.THROTTLED, THROTTLED, None, retry_after=attempt.retry_after)
        if self.available:
            self.background.submit(lambda: self._mail_link(asked, ip, user_agent))
        return Outcome(Result.OK)

    def _account(self, asked: str) -> StoredUser | None:
        """The account a request names: by its verified address when it has an @, else
        by username; never one that is disabled or being deleted."""
        users = self.steps.users
        if "@" in asked:
            address = parse_address(asked)
            user = users.by_email(address.key) if not isinstance(address, str) else None
        else:
            user = users.by_username(normalize_username(asked))
        if user is None or user.disabled_at or user.deleting_at:
            return None
        return user

    def _mail_link(self, asked: str, ip: str, user_agent: str) -> None:
        """After the answer: the link to the account's verified address, if it has one."""
        user = self._account(asked)
        if user is None:
            return
        who = {"ip": ip, "user_agent": user_agent}
        if not user.email:
            self.steps.event(Kind.PASSWORD_RESET_REQUESTED, user, success=False,
                             detail="no verified email address: nothing sent", **who)
            return
        link = self._issue(user)
        self.steps.event(Kind.PASSWORD_RESET_REQUESTED, user, detail="link mailed", **who)
        self.outbox.enqueue(compose(
            self.links, to=user.email, subject="Reset your password", username=user.username,
            lines=["Someone (we hope you) asked to reset the password of your account.",
                   f"Choose a new password here (the link works once, for 30 minutes):\n"
                   f"{link}",
                   "If it was not you, ignore this message: your password stays as it is."],
            why="a password reset was asked for your account", kind="password_reset",
            user_id=user.id))

    def _issue(self, user: StoredUser) -> str:
        token, token_hash = new_link_token()
        expires = self.steps.sessions.clock() + RESET_LIFETIME
        self.steps.users.set_token(user.id, "reset", token_hash, expires)
        return self.links.reset(token)

    def link_for_operator(self, username: str) -> str | None:
        """`auth-admin reset-link USER`: a link to hand to the user (same token rules,
        same page, the second factor still asked); None when there is no such account."""
        user = self.steps.users.by_username(normalize_username(username))
        if user is None or user.deleting_at:
            return None
        return self._issue(user)

    # -- using it -------------------------------------------------------------------------------

    def open_link(self, token: str) -> StoredUser | None:
        """The account a link is for while it is valid (nothing is used up)."""
        token_hash = hash_link_token(token)
        if token_hash is None:
            return None
        user = self.steps.users.by_token("reset", token_hash, self.steps.sessions.clock())
        if user is None or user.disabled_at or user.deleting_at:
            return None
        return user

    def needs_code(self, user: StoredUser) -> bool:
        return self.steps.factors.enabled(user.id)

    def reset_password(self, token: str, new: str, confirm: str, code: str = "", *,
                       ip: str, user_agent: str = "") -> Outcome:
        """Set a new password with a valid link (and the second factor, when on). OK: every
        session ended; the user logs in with the new password."""
        user = self.open_link(token)
        if user is None:
            return Outcome(Result.ENDED, LINK_ENDED)
        return self.steps.admitted(ip, user.username, lambda: self._reset(
            user, token, new, confirm, code, ip=ip, user_agent=user_agent))

    def _reset(self, user: StoredUser, token: str, new: str, confirm: str, code: str, *,
               ip: str, user_agent: str) -> Outcome:
        steps, name = self.steps, user.username
        if message := validate_password(new, username=name, site_words=self.site_words):
            return Outcome(Result.INVALID, message, "new", name)
        if new != confirm:
            return Outcome(Result.INVALID, "The two passwords do not match.", "confirm", name)
        if refused := self._second_factor(user, code, ip=ip, user_agent=user_agent):
            return refused
        try:
            with steps.hashing(ip):  # before the link is used up: a busy hasher keeps it
                password_hash = hash_password(new)
        except HasherBusy as busy:
            return busy_outcome(busy, name)
        token_hash = hash_link_token(token) or ""
        if not steps.users.take_reset_token(user.id, token_hash, steps.sessions.clock()):
            return Outcome(Result.ENDED, LINK_ENDED, None, name)  # another request won
        steps.replace_password(user.id, password_hash, kind=Kind.PASSWORD_RESET, ip=ip,
                               user_agent=user_agent)
        return Outcome(Result.OK, username=name, user=SessionUser(user.id, name))

    def _second_factor(self, user: StoredUser, code: str, *, ip: str, user_agent: str
                       ) -> Outcome | None:
        """None when the account has no second factor or `code` is right (counted and
        throttled per user like any code; a recovery code is used up)."""
        if not self.needs_code(user):
            return None
        if not code.strip():
            return Outcome(Result.INVALID, "Enter a code from your authenticator app, or a "
                           "recovery code.", "code", user.username)
        who = SessionUser(user.id, user.username)
        check = self.steps.check_code(who, code.strip(), ip=ip, user_agent=user_agent,
                                      session_id=None)
        if isinstance(check, Outcome):
            return check
        if check is Check.WRONG:
            self.steps.event(Kind.SECOND_FACTOR_FAILED, who, success=False, ip=ip,
                             user_agent=user_agent, detail="during a password reset")
            return Outcome(Result.INCORRECT, WRONG_CODE, "code", user.username)
        if check is Check.RECOVERY:
            self.steps.event(Kind.RECOVERY_CODE_USED, who, ip=ip, user_agent=user_agent,
                             detail="during a password reset")
        return None
