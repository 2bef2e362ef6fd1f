"""Security notices: which events tell the user, and what they say. Decided here only.

An event in `NOTICES` is mailed to the account's verified address (and, for a change of
address, to the old one too) and shown in the web app on the user's next visit. A
complete log-in (password, code or passkey) notifies in two cases: from a browser the
account has not logged in with before (`NEW_BROWSER`, stored as an event), and after
`FAILURES_BEFORE_NOTICE` or more failed attempts since the last log-in.

"Seen" browser: the browser's family and system as the activity page names them
("Firefox on Linux"), kept on the user as keyed hashes (the newest `KNOWN_BROWSERS`). No
cookie and no address is used for it: a new laptop with the same browser is not "new",
while a different browser or system is; it is the granularity a user recognises in the
notice ("Chrome on Windows: was it you?"). The first browser an account ever uses (at
sign-up) is remembered without a notice.

A message never carries a secret: no token, no code; it names what happened, when, from
which browser and address, and the one thing to do if it was not the user. Building it
or storing it never fails the request: an outage or `MAIL=off` is logged and skipped.
"""

from __future__ import annotations

import hashlib
import html
import logging
from dataclasses import dataclass

from auth_utils.rules.agents import describe_user_agent
from auth_utils.services.activity import Activity, Actor, Kind
from auth_utils.services.mail import MailDisabled, Message, Outbox
from auth_utils.storage import StoredEvent, StoredUser, UserStore

__all__ = ["FAILURES_BEFORE_NOTICE", "KNOWN_BROWSERS", "LOGIN_KINDS", "NOTICES", "Links",
           "Notice", "Notices", "browser_key", "compose"]

log = logging.getLogger("auth_utils.notices")

FAILURES_BEFORE_NOTICE = 3
KNOWN_BROWSERS = 20
# Events that end a complete log-in when they come with its new session (the pending
# one's password step is not one; a recovery code given in a password reset is not either).
LOGIN_KINDS = frozenset({Kind.LOGIN, Kind.SECOND_FACTOR_PASSED, Kind.RECOVERY_CODE_USED,
                         Kind.PASSKEY_USED})

_RESET = "If it was not you, reset your password now: {reset}, then check where you are " \
         "logged in: {account}."
_SESSIONS = "If it was not you, change your password and log out the other sessions: " \
            "{account}."
_OPERATOR = "If you did not expect this, contact the site's operator."


@dataclass(frozen=True)
class Notice:
    subject: str
    what: str  # one sentence: what happened to the account
    advice: str  # the one thing to do if it was not the user (links filled in)


NOTICES: dict[Kind, Notice] = {
    Kind.PASSWORD_CHANGED: Notice("Your password was changed",
                                  "The password of your account was changed.", _RESET),
    Kind.PASSWORD_RESET: Notice("Your password was reset",
                                "The password of your account was reset with a link sent "
                                "by email, and every session was logged out.", _RESET),
    Kind.EMAIL_VERIFIED: Notice("Your email address was verified",
                                "This address is now the one of your account.", _RESET),
    Kind.EMAIL_CHANGED: Notice("Your email address was changed",
                               "The email address of your account was changed; notices "
                               "now go to the new address.", _RESET),
    Kind.EMAIL_REMOVED: Notice("Your email address was removed",
                               "This address was removed from your account; it gets no "
                               "more notices and cannot reset the password.", _RESET),
    Kind.SECOND_FACTOR_ON: Notice("Two-step log-in was turned on",
                                  "A second factor (an authenticator app) was turned on "
                                  "for your account.", _RESET),
    Kind.SECOND_FACTOR_OFF: Notice("Two-step log-in was turned off",
                                   "The second factor of your account was turned off: the "
                                   "password alone now logs in.", _RESET),
    Kind.RECOVERY_CODES_REGENERATED: Notice("New recovery codes were made",
                                            "New recovery codes were made for your "
                                            "account; the old ones no longer work.", _RESET),
    Kind.RECOVERY_CODE_USED: Notice("A recovery code was used",
                                    "A recovery code was used to log in to your account "
                                    "(each works once).", _RESET),
    Kind.PASSKEY_ADDED: Notice("A passkey was added",
                               "A passkey was added to your account: it logs in without "
                               "the password.", _RESET),
    # Like a passkey, a linked identity logs in without the password: the owner hears of it.
    Kind.IDENTITY_LINKED: Notice("An outside log-in was linked",
                                 "A log-in with another provider was linked to your "
                                 "account: it logs in without the password.", _RESET),
    Kind.PASSKEY_REMOVED: Notice("A passkey was removed",
                                 "A passkey was removed from your account.", _RESET),
    Kind.NEW_BROWSER: Notice("New log-in to your account",
                             "Your account was logged in to from a browser it had not "
                             "used before.", _SESSIONS),
    Kind.LOGIN_FAILED: Notice("Log-in after failed attempts",
                              "Your account was logged in to after {failures} failed "
                              "attempts.", _SESSIONS),
    Kind.ACCOUNT_DISABLED: Notice("Your account was disabled",
                                  "Your account was disabled by the site's operator; every "
                                  "session was logged out.", _OPERATOR),
    Kind.ACCOUNT_DELETED: Notice("Your account was deleted",
                                 "Your account and everything of it were deleted.",
                                 "If it was not you, contact the site's operator at once."),
}


@dataclass(frozen=True)
class Links:
    """Where a message points to (from LANDING_URL and WEB_URL)."""

    landing_url: str
    web_url: str
    site: str = "Monorepo Auth"

    def reset_form(self) -> str:
        return f"{self.landing_url.rstrip('/')}/password/reset"

    def reset(self, token: str) -> str:
        return f"{self.landing_url.rstrip('/')}/password/reset/{token}"

    def verify_email(self, token: str) -> str:
        return f"{self.landing_url.rstrip('/')}/email/verify/{token}"

    def account(self) -> str:
        return f"{self.web_url.rstrip('/')}/account"


def compose(links: Links, *, to: str, subject: str, username: str, lines: list[str],
            why: str, kind: str, user_id: str | None) -> Message:
    """One message in plain text and HTML (every user value escaped), the same layout
    for notices and link mails: a greeting, the paragraphs, why it was sent."""
    hello = f"Hello {username}," if username else "Hello,"
    footer = f"{links.site} sent this message because {why}."
    text = "\n\n".join([hello, *lines]) + f"\n\n-- \n{footer}\n"
    paragraphs = "".join(f"<p>{html.escape(line).replace(chr(10), '<br>')}</p>"
                         for line in [hello, *lines])
    page = (f"<!doctype html><html><body>{paragraphs}"
            f"<hr><p><small>{html.escape(footer)}</small></p></body></html>")
    return Message(to=to, subject=f"{links.site}: {subject}", text=text, html=page,
                   kind=kind, user_id=user_id)


def browser_key(user_id: str, user_agent: str) -> str:
    """What is kept of a browser that logged in: a hash of its description, keyed by the
    user (the same browser gives different keys on two accounts)."""
    described = describe_user_agent(user_agent)
    return hashlib.sha256(f"browser:{user_id}:{described}".encode()).hexdigest()[:32]


class Notices:
    def __init__(self, users: UserStore, activity: Activity, outbox: Outbox, links: Links
                 ) -> None:
        self.users = users
        self.activity = activity
        self.outbox = outbox
        self.links = links

    # -- deciding ------------------------------------------------------------------------

    def after(self, kind: Kind, actor: Actor, *, also_to: tuple[str, ...] = ()) -> None:
        """Called for every successful event of a user (by `Steps.event`): mail the notice
        it calls for, if any, to the verified address and to `also_to`. Never raises."""
        try:
            self._after(kind, actor, also_to)
        except Exception as exc:  # a notice must never fail the change it reports
            log.warning("notice for %s not sent: %s", kind.value, exc)

    def _after(self, kind: Kind, actor: Actor, also_to: tuple[str, ...]) -> None:
        if actor.user_id is None:
            return
        if kind is Kind.SIGNUP:  # the first browser is known without a notice
            self.users.remember_browser(actor.user_id, browser_key(actor.user_id,
                                                                   actor.user_agent),
                                        KNOWN_BROWSERS)
            return
        if kind in LOGIN_KINDS and actor.session_id:  # a log-in (not a code given in a reset)
            self._after_login(actor)
        if kind in NOTICES:
            self._mail(kind, actor, self.users.by_id(actor.user_id), also_to)

    def _after_login(self, actor: Actor) -> None:
        assert actor.user_id is not None
        user = self.users.by_id(actor.user_id)
        if user is None:
            return
        # Failures since the log-in before this one (this one's event is the newest), or
        # since the user last saw them: each batch of failures is told once.
        logins = [e.at for e in self.activity.page(actor.user_id, 1, per_page=50)
                  if e.kind in LOGIN_KINDS and e.outcome == "success"]
        since = max(filter(None, [user.failures_seen_at, user.created_at, *logins[1:2]]))
        failures = self.activity.failed_logins_since(actor.user_id, since)
        new = self.users.remember_browser(
            actor.user_id, browser_key(actor.user_id, actor.user_agent), KNOWN_BROWSERS)
        if new:
            self.activity.record(Kind.NEW_BROWSER, actor)
            self._mail(Kind.NEW_BROWSER, actor, user)
        if failures >= FAILURES_BEFORE_NOTICE:
            self._mail(Kind.LOGIN_FAILED, actor, user, failures=failures)

    # -- sending ---------------------------------------------------------------------------

    def _mail(self, kind: Kind, actor: Actor, user: StoredUser | None,
              also_to: tuple[str, ...] = (), **values: object) -> None:
        if not self.outbox.enabled:
            return
        addresses = [a for a in ((user.email if user else None), *also_to) if a]
        for to in dict.fromkeys(addresses):  # once per address
            try:
                self.outbox.enqueue(self.message(kind, actor, to, user, **values))
            except MailDisabled:
                return

    def message(self, kind: Kind, actor: Actor, to: str, user: StoredUser | None,
                **values: object) -> Message:
        """The notice of `kind` as a message to `to` (text and HTML)."""
        notice = NOTICES[kind]
        when = self.activity.clock().strftime("%Y-%m-%d %H:%M UTC")
        where = f"{describe_user_agent(actor.user_agent)}, address {actor.ip or 'unknown'}"
        advice = notice.advice.format(reset=self.links.reset_form(),
                                      account=self.links.account())
        return compose(
            self.links, to=to, subject=notice.subject,
            username=user.username if user else (actor.username or ""),
            lines=[notice.what.format(**values), f"When: {when}\nFrom: {where}", advice],
            why="it is about the security of your account; it is sent for every such change",
            kind=f"notice:{kind.value}", user_id=actor.user_id)

    # -- in the web app ---------------------------------------------------------------------

    def unseen(self, user_id: str, current_session: str | None, limit: int = 50
               ) -> tuple[int, list[StoredEvent]]:
        """What the user has not been shown yet (since the last time, or sign-up): the
        number of failed log-ins and wrong codes, and the changes to the account made
        from another session (what they did in this one they know). Marks them seen."""
        from auth_utils.services.activity import FAILED_LOGINS, session_ref

        user = self.users.by_id(user_id)
        if user is None:
            return 0, []
        since = max(filter(None, [user.failures_seen_at, user.created_at]))
        failed = self.activity.failed_logins_since(user_id, since,
                                                   not_session=current_session)
        here = session_ref(current_session)
        shown = {k.value for k in NOTICES} - set(FAILED_LOGINS)
        changes = [e for e in self.activity.page(user_id, 1, per_page=limit)
                   if e.at > since and e.kind in shown and e.outcome == "success"
                   and not (here and e.session_ref == here)]
        if failed or changes:
            self.users.set_failures_seen(user_id, self.activity.clock())
        return failed, changes
