"""One process's auth core, built once from settings: what each app's glue holds."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from auth_utils.config import Settings
from auth_utils.flows import (
    AccountFlows,
    EmailFlows,
    FederationFlows,
    IdentityFlows,
    LifecycleFlows,
    PasskeyFlows,
    PasswordFlows,
    RecoveryFlows,
    SecondFactorFlows,
    Steps,
)
from auth_utils.flows.provider import OpenIDProvider
from auth_utils.http.cookies import CookieSettings
from auth_utils.rules.clock import Clock, utc_now
from auth_utils.rules.passwords import HashingGate
from auth_utils.rules.sealing import SealedBox
from auth_utils.rules.smtp import SmtpTarget
from auth_utils.services.activity import Activity
from auth_utils.services.availability import GuardedStorage
from auth_utils.services.backchannel import Backchannel, LogoutSender
from auth_utils.services.mail import MailSender, Retry
from auth_utils.services.notices import Links, Notices
from auth_utils.services.outbox import MAIL_KEY_PURPOSE, Outbox
from auth_utils.services.passkeys import Passkeys, RelyingParty
from auth_utils.services.second_factor import SecondFactors, SecretBox
from auth_utils.services.session_cache import CachedSessionStore
from auth_utils.services.session_policy import SessionPolicy
from auth_utils.services.sessions import SessionManager
from auth_utils.services.signing_keys import SigningKeys
from auth_utils.services.throttling import Throttler
from auth_utils.storage import SessionStore, Storage

__all__ = ["AuthCore", "build_core"]

log = logging.getLogger("auth_utils")


@dataclass
class AuthCore:
    settings: Settings
    storage: Storage
    sessions: SessionManager
    accounts: AccountFlows  # sign-up, log-in, log-out, sessions
    passwords: PasswordFlows  # re-authentication, password changes
    second_factor: SecondFactorFlows
    passkeys: PasskeyFlows
    activity: Activity  # the security activity log (read by the activity page, the CLI)
    cookie: CookieSettings
    lifecycle: LifecycleFlows  # disable, enable, delete an account
    outbox: Outbox  # mail: `outbox.enqueue(Message(...))`; delivered by the mail sender
    email: EmailFlows  # the account's verified address
    recovery: RecoveryFlows  # password reset by link
    notices: Notices  # which events tell the user (mail, and the web app's next visit)
    # Outside OpenID Connect providers (OIDC_PROVIDERS); `enabled` False when none.
    federation: FederationFlows | None = None
    # A new outside identity's account, an account's linked identities.
    identities: IdentityFlows | None = None
    # Our own OpenID Connect provider, for apps on other domains (auth_utils.flows.provider).
    openid: OpenIDProvider | None = None
    mail_sender: MailSender | None = field(default=None, init=False, repr=False)
    logout_sender: LogoutSender | None = field(default=None, init=False, repr=False)

    def start_logout_sender(self, **options: Any) -> LogoutSender | None:
        """Deliver back-channel log-outs from a daemon thread of this process (each app
        calls it at start-up; leases make any number of processes safe). Idempotent.
        `options` go to `LogoutSender` (tests: retry, poll_every, ...)."""
        if self.openid is None or self.openid.backchannel is None:
            return None
        if self.logout_sender is None or not self.logout_sender.running:
            self.logout_sender = LogoutSender(self.openid.backchannel, **options).start()
        return self.logout_sender

    def stop_logout_sender(self) -> None:
        if self.logout_sender is not None:
            self.logout_sender.stop()
            self.logout_sender = None

    def start_mail_sender(self, **options: Any) -> MailSender | None:
        """Deliver the outbox from a daemon thread of this process (each app calls it at
        start-up; leases make any number of processes safe); the sender, or None with
        MAIL=off or MAIL_SENDER=off. Idempotent. `options` go to `MailSender` (tests:
        lease, retry, ...). `close()` stops it."""
        if not self.outbox.enabled or not self.settings.mail_sender:
            return None
        if self.mail_sender is None or not self.mail_sender.running:
            self.mail_sender = MailSender(
                self.outbox, SmtpTarget.parse(self.settings.smtp_url),
                **{**self.sender_options(), **options}).start()
        return self.mail_sender

    def sender_options(self) -> dict[str, Any]:
        """The sender's lease and backoff from the settings (MAIL_LEASE_SECONDS, ...). Each
        SMTP step is bounded by 20 s, or a quarter of a shorter lease: a message never
        outlasts its lease on a slow server (the sender starts none whose lease is half
        gone)."""
        s = self.settings
        lease = timedelta(seconds=s.mail_lease_seconds)
        return {"lease": lease, "timeout": min(20.0, lease.total_seconds() / 4),
                "retry": Retry(first_delay=timedelta(seconds=s.mail_retry_first_seconds),
                               max_delay=timedelta(seconds=s.mail_retry_max_seconds))}

    def stop_mail_sender(self) -> None:
        if self.mail_sender is not None:
            self.mail_sender.stop()
            self.mail_sender = None

    def prepare(self, *, retry_every: float | None = 5.0) -> bool:
        """Create indexes at start-up. When the storage is unavailable the app starts
        anyway (answering 503 until it is back) and, with `retry_every`, a background
        thread keeps trying, so a database that comes up later still gets its unique
        username index before the first sign-up can succeed."""
        try:
            self.storage.prepare()
        except self.storage.Unavailable:
            if retry_every:
                threading.Thread(target=self._prepare_later, args=(retry_every,),
                                 name="storage-prepare", daemon=True).start()
            return False
        return True

    def _prepare_later(self, every: float) -> None:
        while True:
            time.sleep(every)
            try:
                self.storage.prepare()
            except self.storage.Unavailable:
                continue
            log.info("storage prepared (indexes built)")
            return

    def close(self) -> None:
        self.recovery.background.stop()
        self.stop_mail_sender()
        self.stop_logout_sender()
        self.activity.close()  # stores the events still queued
        if isinstance(self.storage, GuardedStorage):
            self.storage.close()
        if isinstance(self.sessions.store, CachedSessionStore):
            self.sessions.store.close()


def build_core(settings: Settings, *, storage: Storage | None = None,
               clock: Clock = utc_now, cache: bool | None = None,
               throttling: bool = True) -> AuthCore:
    """The core on `storage` (MongoDB at `settings.mongo_uri` unless given), with the
    session cache unless `SESSION_CACHE=off` (or `cache=False`); `throttling=False` for
    an operator's own commands."""
    if storage is None:
        from auth_utils.storage.mongo import connect_storage

        storage = connect_storage(settings.mongo_uri)
    # Once a call finds the database down, every later one fails at once (503) until a
    # single probe sees it answer again (auth_utils.services.availability).
    guarded = GuardedStorage(storage)
    storage = guarded
    store: SessionStore = storage.sessions
    if settings.session_cache if cache is None else cache:
        store = CachedSessionStore(store, storage.invalidations, ttl=settings.session_cache_ttl,
                                   max_lag=settings.session_cache_max_lag)
    sessions = SessionManager(store, clock=clock, policy=SessionPolicy(
        max_lifetime=timedelta(days=settings.session_max_lifetime_days)))
    throttler = Throttler(settings, storage.counters, clock=clock, enabled=throttling)
    gate = HashingGate(per_client=settings.hashing_max_per_client)
    box = SecretBox(settings.mfa_encryption_key)
    factors = SecondFactors(storage.second_factors, box, clock=clock)
    retention = timedelta(days=settings.security_events_retention_days)
    activity = Activity(storage.events, clock=clock, unavailable=storage.Unavailable,
                        retention=retention)
    passkeys = Passkeys(storage.passkeys, RelyingParty.from_settings(settings), clock=clock,
                        challenge_key=box.key_for(b"passkey challenge"))
    steps = Steps(sessions, storage.users, throttler, factors, activity, gate,
                  guarded.availability, require_second_factor=settings.require_second_factor)
    # Mail runs on real time, not on `clock` (leases and backoff are between processes).
    outbox = Outbox(storage.outbox, SealedBox(settings.mfa_encryption_key, MAIL_KEY_PURPOSE),
                    settings.mail_from, enabled=settings.mail, unavailable=storage.Unavailable)
    links = Links(settings.landing_url, settings.web_url)
    steps.notices = notices = Notices(storage.users, activity, outbox, links)
    email = EmailFlows(steps, outbox, links)
    # A deleted name stays taken as long as its events are kept; activity.store: an
    # anonymization waits for the events still queued.
    lifecycle = LifecycleFlows(steps, storage.passkeys, storage.counters, activity.store,
                               retire_for=retention, identities=storage.identities)
    # Every provider sends the browser back to one callback on the landing app; the
    # pending log-in names the provider (and RFC 9207's `iss` is checked against it).
    federation = FederationFlows(steps, storage.identities, settings.oidc_providers,
                                 redirect_uri=f"{settings.landing_url}/login/oidc/callback")
    # The issuer is LANDING_URL exactly: clients compare it character for character.
    keys = SigningKeys(storage.oauth, settings.mfa_encryption_key, clock=clock)
    # Back-channel log-out: every deletion of sessions (both apps, the CLI) tells it.
    backchannel = Backchannel(storage.oauth, keys, issuer=settings.landing_url,
                              unavailable=storage.Unavailable, session_clock=clock)
    sessions.on_ended = backchannel.session_ended
    openid = OpenIDProvider(steps, storage.oauth, keys, issuer=settings.landing_url,
                            login_url=f"{settings.landing_url}/login", backchannel=backchannel)
    return AuthCore(settings, storage, sessions,
                    AccountFlows(steps, email, site_words=settings.site_words),
                    PasswordFlows(steps, site_words=settings.site_words),
                    SecondFactorFlows(steps, passkeys), PasskeyFlows(steps, passkeys),
                    activity, CookieSettings.from_settings(settings), lifecycle, outbox, email,
                    RecoveryFlows(steps, outbox, links, site_words=settings.site_words),
                    notices, federation,
                    IdentityFlows(steps, storage.identities, storage.passkeys,
                                  federation.provider_name), openid)
