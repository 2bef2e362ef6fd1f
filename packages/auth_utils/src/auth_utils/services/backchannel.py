"""OpenID Connect Back-Channel Logout 1.0: tell each client when a session it got tokens
from ends, for whatever reason.

Where a session's end is seen. Not from an event: the session cache's feed (a change
stream) is per process, absent on a standalone MongoDB and loses what happens while no
process watches; `SessionManager.invalidate_*` misses MongoDB's own TTL deletion and a
crash between the deletion and the hook. It is judged from the database's state instead:
when a client first gets tokens for a session, an "armed" record of the pair is stored
(`oauth_logouts`); a record whose session is gone (or expired) is made "pending" by one
conditional update (`end_logouts`), which any process may run at any time, any number of
times, and a pair is told once. Two callers run it:

- the fast path: `SessionManager` calls `session_ended` after each deletion (log-out,
  revocation, password change or reset, disable, delete, the session cap, expiry), for
  just that session or user, and wakes this process's sender;
- the backstop: each sender sweeps every armed record every `sweep_every` seconds, which
  catches TTL deletions, deletions by other tools and a process that died in between.

Delivery is the mail outbox's pattern (`auth_utils.services.mail`): a `LogoutSender` thread claims
a due record under a lease, POSTs the Logout Token, marks it delivered on a 2xx or backs
off and tries again (a client that is down gets it once it is back); a sender killed
mid-way holds nothing once its lease has passed. A log-out never waits on a client.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
import threading
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc import jwt

from auth_utils.rules.clock import Clock, utc_now
from auth_utils.services.signing_keys import ALG, SigningKeys
from auth_utils.services.worker import DrainThread
from auth_utils.storage import OAuthStore
from db_utils.outbox import Retry

__all__ = ["EVENT", "UNCLAIMED_AFTER", "Backchannel", "LogoutSender", "logout_record_id"]

log = logging.getLogger("auth_utils.backchannel")

EVENT = "http://schemas.openid.net/event/backchannel-logout"  # spec 2.4
TOKEN_SECONDS = 120  # a Logout Token is checked on arrival: short-lived (spec 2.4 exp)
# A pair of another issuer still pending this long after it was due (a lease or a
# backoff at most 10 min) has no sender left: failed, for operators to see (1 day).
UNCLAIMED_AFTER = timedelta(days=1)


def logout_record_id(session_id: str, client_id: str) -> str:
    """One record (so one Logout Token) per session and client."""
    return hashlib.sha256(f"bcl:{session_id}:{client_id}".encode()).hexdigest()


class Backchannel:
    """The provider's side: arm a pair, see sessions end, build Logout Tokens."""

    def __init__(self, store: OAuthStore, keys: SigningKeys, *, issuer: str,
                 unavailable: type[Exception] = ConnectionError,
                 session_clock: Clock = utc_now, clock: Clock = utc_now) -> None:
        self.store = store
        self.keys = keys
        self.issuer = issuer
        self.unavailable = unavailable
        self.session_clock = session_clock  # sessions' times (a test's settable clock)
        self.clock = clock  # leases and backoff: real time, shared between processes
        self.wakeup = threading.Event()  # this process's sender looks at once

    def arm(self, *, session_id: str, client_id: str, user_id: str, sid: str) -> None:
        self.store.arm_logout(id=logout_record_id(session_id, client_id),
                              session_id=session_id, client_id=client_id, user_id=user_id,
                              sid=sid, issuer=self.issuer, status="armed",
                              created_at=self.clock(),
                              ended_at=None, next_attempt_at=None, attempts=0, lease="",
                              leased_by="", last_error="", delivered_at=None,
                              expires_at=None)

    def session_ended(self, *, user_id: str | None = None, session_id: str | None = None
                      ) -> int:
        """After a deletion: make due what it ended (never raises: a log-out must not
        fail because of a client; the sweep catches what this misses)."""
        try:
            count = self.store.end_logouts(self.clock(), sessions_now=self.session_clock(),
                                           user_id=user_id, session_id=session_id)
        except Exception as exc:  # the database again: the sender's sweep will see it
            log.warning("back-channel log-out: could not mark ended sessions now (%s); "
                        "the sweep will", exc)
            return 0
        if count:
            self.wakeup.set()
        return count

    def access_withdrawn(self, *, user_id: str, client_id: str) -> int:
        """The user withdrew the client's access (the account page): every session the
        client got tokens from is, for that client, ended now, though it lives on for
        the user; its Logout Tokens are due at once. How many."""
        count = self.store.withdraw_logouts(user_id, client_id, self.clock())
        if count:
            self.wakeup.set()
        return count

    def requeue_failed(self, client_id: str | None = None) -> int:
        """Failed Logout Tokens (of one client, or all) tried again from now, attempts from
        zero: an operator's command once the client's endpoint works. How many."""
        count = self.store.requeue_logouts(self.clock(), client_id)
        if count:
            self.wakeup.set()
        return count

    def sweep(self) -> int:
        """Every armed pair whose session is gone: due (the backstop). Pairs of an issuer
        no process serves any more are marked failed after UNCLAIMED_AFTER."""
        self.store.fail_unclaimed_logouts(self.clock(), self.issuer, UNCLAIMED_AFTER)
        count = self.store.end_logouts(self.clock(), sessions_now=self.session_clock())
        if count:
            self.wakeup.set()
        return count

    def logout_token(self, record: Any) -> str:
        """The Logout Token (spec 2.4): signed with our current key, typed
        `logout+jwt`; `sub` and `sid`, the event, never a nonce. `jti` is the same for
        every attempt at one record, so a client may drop a duplicate by it."""
        now = int(time.time())
        key = self.keys.current()
        claims = {"iss": self.issuer, "aud": record.client_id, "iat": now,
                  "exp": now + TOKEN_SECONDS, "jti": record.id[:32], "sub": record.user_id,
                  "sid": record.sid, "events": {EVENT: {}}}
        return jwt.encode({"alg": ALG, "kid": key.kid, "typ": "logout+jwt"}, claims, key,
                          algorithms=[ALG])


class LogoutSender:
    """Delivers due Logout Tokens from a daemon thread; any number of senders in any
    processes share the queue (leases). Sweeps for ended sessions every `sweep_every`."""

    def __init__(self, backchannel: Backchannel, *, lease: timedelta = timedelta(seconds=60),
                 retry: Retry | None = None, poll_every: float = 1.0,
                 sweep_every: float = 30.0, timeout: float = 5.0,
                 name: str = "logout-sender") -> None:
        self.backchannel = backchannel
        self.lease = lease
        # Backoff from 5 s to 10 min over ~12 h: a client down for a deploy or a night
        # still hears of the log-out.
        self.retry = retry or Retry(first_delay=timedelta(seconds=5),
                                    max_delay=timedelta(minutes=10), max_attempts=80)
        self.sweep_every = sweep_every
        # Each POST's bound: connect, write, read. A slow client holds this thread for
        # at most this long, never a request.
        self.timeout = min(timeout, lease.total_seconds() / 4)
        # No proxies from the environment, no redirects followed: the POST goes to the
        # URI the operator registered and nowhere else.
        self.thread = DrainThread(name, self.run_once, backchannel.wakeup,
                                  poll_every=poll_every, open_resource=lambda: httpx.Client(
                                      timeout=self.timeout, follow_redirects=False,
                                      trust_env=False))
        self.identity = self.thread.identity
        self._stopping = self.thread.stopping
        self._swept_at = float("-inf")
        self.outcomes: dict[str, int] = {}

    def start(self) -> LogoutSender:
        self.thread.start()
        return self

    @property
    def running(self) -> bool:
        return self.thread.running

    def stop(self, timeout: float | None = None) -> None:
        self.thread.stop(self.timeout + 5 if timeout is None else timeout)

    def run_once(self, http: httpx.Client, limit: int = 100) -> int:
        """Sweep when due, then deliver up to `limit` due tokens; how many handled."""
        bc = self.backchannel
        try:
            if time.monotonic() - self._swept_at >= self.sweep_every:
                self._swept_at = time.monotonic()
                bc.sweep()
        except bc.unavailable as exc:
            log.debug("logout sender: database unavailable (%s)", exc)
            return 0
        handled = 0
        while handled < limit and not self._stopping.is_set():
            now = bc.clock()
            try:
                # Only pairs armed under our issuer: a Logout Token must carry the `iss`
                # of the ID token the client holds, and a process configured for another
                # issuer on the same database (a staging deployment, a moved LANDING_URL)
                # would send one the client refuses, again at each retry.
                record = bc.store.claim_logout(now, now + self.lease, secrets.token_hex(16),
                                               self.identity, self.retry, issuer=bc.issuer)
            except bc.unavailable:
                break
            if record is None:
                break
            handled += 1
            self._deliver(http, record)
        return handled

    def _deliver(self, http: httpx.Client, record: Any) -> None:
        bc = self.backchannel
        client = bc.store.get_client(record.client_id)
        uri = getattr(client, "backchannel_logout_uri", "") if client else ""
        if not uri:  # removed, or the URI unregistered since: nobody to tell
            self._record(record, "the client has no back-channel log-out URI now",
                         permanent=True)
            return
        if urlsplit(uri).scheme not in ("https", "http"):  # registered ones are checked
            self._record(record, "not an http(s) URI", permanent=True)
            return
        try:
            token = bc.logout_token(record)
            answer = http.post(uri, data={"logout_token": token},
                               headers={"Cache-Control": "no-store"})
        except Exception as exc:  # refused, timed out, TLS, DNS, a key problem
            self._record(record, f"{type(exc).__name__}: {exc}"[:300])
            return
        if 200 <= answer.status_code < 300:  # spec 2.8: 200 OK (204 also accepted)
            # Unrecorded while the database is down: the lease passes and it is sent
            # again, with the same jti.
            with contextlib.suppress(bc.unavailable):
                bc.store.logout_delivered(record.id, bc.clock())
            self._count("delivered")
            return
        self._record(record, f"HTTP {answer.status_code}")

    def _record(self, record: Any, error: str, *, permanent: bool = False) -> None:
        bc = self.backchannel
        try:
            outcome = bc.store.logout_failed(record, bc.clock(), error, self.retry,
                                             permanent=permanent)
        except bc.unavailable:
            outcome = "unrecorded"
        self._count(outcome)
        log.log(logging.ERROR if outcome == "failed" else logging.WARNING,
                "back-channel log-out to client %s, attempt %d: %s (%s)",
                record.client_id[:24], record.attempts, error, outcome)

    def _count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
