"""What a fault must not lose, checked from outside as a client and in the database:
acknowledged sign-ups, revoked sessions (never accepted again), live sessions (never
lost), answers during an outage (503/429 only, quickly), recovery time, and mail (every
message in the outbox received by the SMTP server, none twice but for a sender's crash)."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from pymongo import MongoClient

from devtools.loadtest.journal import CONNECTION_ERROR, Journal, Request
from devtools.loadtest.loops import Loops
from devtools.loadtest.stack import LoadStack
from devtools.loadtest.workload import PASSWORD
from devtools.mailserver import MailServer
from devtools.testing.helpers import csrf_of, link_token, mailed_link

__all__ = ["Canaries", "MailLedger", "Outage", "Probe", "Replayer", "accepted",
           "feed_restarts", "latency_ms", "lost_signups", "mail_ledger", "outage", "replay",
           "revoke_a_cached_session", "revoked_accepted", "verified_accounts",
           "wait_drained", "wait_healthy"]

APPS = ("landing", "web")


def accepted(app: str, status: int) -> bool:
    """Did `GET /` on this app treat the cookie as a live session? (Landing sends a
    logged-in visitor on to the web app with 303; web greets them with 200.)"""
    return status == (303 if app == "landing" else 200)


def _get(url: str, token: str | None = None, timeout: float = 10.0) -> int:
    """GET on a new connection (`Connection: close`), so the app's workers take turns."""
    headers = {"Connection": "close"}
    if token is not None:
        headers["Cookie"] = f"auth_session={token}"
    try:
        return httpx.get(url, headers=headers, timeout=timeout,
                         follow_redirects=False).status_code
    except httpx.HTTPError:
        return CONNECTION_ERROR


def replay(stack: LoadStack, token: str) -> dict[str, int]:
    """The status of `GET /` with this session cookie, from each app."""
    return {app: _get(f"{stack.urls[app]}/", token) for app in APPS}


def revoke_a_cached_session(stack: LoadStack, journal: Journal, prefix: str,
                            replays: int = 4) -> int | None:
    """Sign up, get the session cached by the workers of both apps, log out through the
    web app, then replay the cookie to both apps `replays` times at once: how many of
    those accepted it (None if a step was refused). The token goes to `journal`'s
    log-outs once the 303 has arrived, so a Replayer goes on checking it."""
    with httpx.Client(follow_redirects=False, timeout=15) as me:
        r = me.post(f"{stack.landing_url}/signup", headers={"Origin": stack.landing_url},
                    data={"username": f"{prefix}x{time.time_ns() % 10**9}",
                          "password": PASSWORD})
        if r.status_code != 303:
            return None
        token = me.cookies["auth_session"]
        for _ in range(4):  # new connections: every worker likely caches it
            replay(stack, token)
        page = me.get(f"{stack.web_url}/").text
        r = me.post(f"{stack.web_url}/logout", headers={"Origin": stack.web_url},
                    data={"csrfmiddlewaretoken": csrf_of(page)})
        if r.status_code != 303:
            return None
        journal.logged_out(token, time.time())
        return sum(accepted(app, status) for _ in range(replays)
                   for app, status in replay(stack, token).items())


def wait_healthy(stack: LoadStack, timeout: float = 30.0, in_a_row: int = 4
                 ) -> float | None:
    """Poll both apps' /healthz (new connections, so the workers take turns) until each
    has answered 200 `in_a_row` times running; when that began (time.time()), or None."""
    first_ok: dict[str, float | None] = dict.fromkeys(APPS)
    streak = dict.fromkeys(APPS, 0)
    deadline = time.monotonic() + timeout
    while min(streak.values()) < in_a_row and time.monotonic() < deadline:
        for app in APPS:
            if streak[app] >= in_a_row:
                continue
            asked = time.time()
            if _get(f"{stack.urls[app]}/healthz", timeout=3.0) == 200:
                first_ok[app] = first_ok[app] if streak[app] else asked
                streak[app] += 1
            else:
                streak[app] = 0
        time.sleep(0.01)
    if min(streak.values()) < in_a_row:
        return None
    return max(t for t in first_ok.values() if t is not None)


def feed_restarts(stack: LoadStack) -> float:
    """Times the session caches of both apps (all workers: /metrics adds them up) stopped
    trusting their change stream: the sign that a broken feed was noticed."""
    from devtools.testing.helpers import metric_value

    return sum(metric_value(httpx.get(f"{url}/metrics").text,
                            "auth_session_feed_restarts_total")
               for url in stack.urls.values())


def lost_signups(mongo_uri: str, usernames: Iterable[str]) -> int:
    """How many of these acknowledged sign-ups have no user in the database."""
    names = list(usernames)
    client: MongoClient = MongoClient(mongo_uri, serverSelectionTimeoutMS=10_000)
    try:
        users = client.get_default_database()["users"]
        found = 0
        for i in range(0, len(names), 1000):
            found += users.count_documents({"username": {"$in": names[i:i + 1000]}})
        return len(names) - found
    finally:
        client.close()


def revoked_accepted(stack: LoadStack, tokens: Iterable[str], threads: int = 4) -> int:
    """Replay every revoked session to both apps once; how many answers accepted it."""
    def check(token: str) -> int:
        return sum(accepted(app, status) for app, status in replay(stack, token).items())

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(check, list(tokens)))


class Canaries:
    """Sessions the checker holds itself (signed up through the landing app), to tell
    whether live sessions survive a fault."""

    def __init__(self, stack: LoadStack, count: int = 5, prefix: str = "canary") -> None:
        self.stack = stack
        self.tokens: list[str] = []
        for n in range(count):
            with httpx.Client(follow_redirects=False, timeout=15) as client:
                r = client.post(f"{stack.landing_url}/signup",
                                headers={"Origin": stack.landing_url},
                                data={"username": f"{prefix}{n}x{time.time_ns() % 10**9}",
                                      "password": PASSWORD})
                if r.status_code != 303:
                    raise RuntimeError(f"canary sign-up answered {r.status_code}")
                self.tokens.append(client.cookies["auth_session"])

    def lost(self, rounds: int = 4) -> int:
        """Sessions refused by either app in any of `rounds` checks (new connections, so
        every worker is likely asked)."""
        lost = set()
        for _ in range(rounds):
            for token in self.tokens:
                if not all(accepted(app, s) for app, s in replay(self.stack, token).items()):
                    lost.add(token)
        return len(lost)


@dataclass
class Replayer:
    """Threads that replay every revoked session cookie (from `source`) to both apps,
    over and over, until stopped: any acceptance breaks the session cache's guarantee."""

    stack: LoadStack
    source: Callable[[], list[str]]
    threads: int = 2
    replays: int = 0
    accepted: list[tuple[float, str, int]] = field(default_factory=list)  # (at, app, status)
    _loops: Loops = field(default_factory=Loops)

    def start(self) -> Replayer:
        self._loops.start(self._run, ((n,) for n in range(self.threads)))
        return self

    def stop(self) -> None:
        self._loops.stop()

    def _run(self, n: int) -> None:
        while not self._loops.stopping.is_set():
            tokens = self.source()[n::self.threads]
            if not tokens:
                self._loops.stopping.wait(0.05)
                continue
            for token in reversed(tokens):  # the newest revocations first
                if self._loops.stopping.is_set():
                    return
                for app, status in replay(self.stack, token).items():
                    self.replays += 1
                    if accepted(app, status):
                        self.accepted.append((time.time(), app, status))


@dataclass
class Probe:
    """A normal client beside the load: an anonymous `GET /` on each app every
    `every` seconds, on a new connection; its latencies per app (no answer within
    `timeout` counts as `timeout`, and in `timeouts`)."""

    stack: LoadStack
    every: float = 0.25
    timeout: float = 5.0
    seconds: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in APPS})
    timeouts: Counter = field(default_factory=Counter)
    _loops: Loops = field(default_factory=Loops)

    def start(self) -> Probe:
        # One thread per app, so a stalled app does not slow the probing of the other.
        self._loops.start(self._run, ((app,) for app in APPS))
        return self

    def stop(self) -> None:
        self._loops.stop()

    def _run(self, app: str) -> None:
        while not self._loops.stopping.wait(self.every):
            start = time.perf_counter()
            status = _get(f"{self.stack.urls[app]}/", timeout=self.timeout)
            spent = time.perf_counter() - start
            if status == CONNECTION_ERROR:
                self.timeouts[app] += 1
                spent = max(spent, self.timeout)
            self.seconds[app].append(spent)


@dataclass
class Outage:
    requests: int
    statuses: Counter
    bad: int  # answers >= 500 other than 503, and requests with no answer
    max_seconds: float
    slowest: str  # "<app> <method> <path>" of the slowest


def outage(requests: Iterable[Request], start: float, end: float) -> Outage:
    """The requests in flight at any moment of [start, end]."""
    during = [r for r in requests if r.overlaps(start, end)]
    statuses = Counter(r.status for r in during)
    bad = sum(n for s, n in statuses.items() if s == CONNECTION_ERROR or (s >= 500 and s != 503))
    slowest = max(during, key=lambda r: r.seconds, default=None)
    return Outage(len(during), statuses, bad, slowest.seconds if slowest else 0.0,
                  f"{slowest.app} {slowest.name} ({slowest.status})" if slowest else "-")


def latency_ms(requests: list[Request]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    if not requests:
        return 0.0, 0.0
    values = sorted(r.seconds * 1000 for r in requests)
    return statistics.median(values), values[max(0, int(len(values) * 0.99) - 1)]


# -- mail -------------------------------------------------------------------------------------

def verified_accounts(stack: LoadStack, server: MailServer, count: int,
                      prefix: str = "reset") -> list[tuple[str, str]]:
    """`count` accounts signed up with an address, each verified by the link the apps'
    senders mailed to `server` (a core of this process on the stack's database, as the
    apps are configured): [(username, address)]."""
    from auth_utils import build_core, load_settings

    core = build_core(load_settings(stack.env), cache=False)
    try:
        accounts = [(f"{prefix}{n}x{time.time_ns() % 10**6}", "") for n in range(count)]
        accounts = [(name, f"{name}@example.com") for name, _ in accounts]
        for name, address in accounts:
            out = core.accounts.sign_up(name, PASSWORD, ip="127.0.0.1", user_agent="loadtest",
                                        email=address)
            if not out.ok:
                raise RuntimeError(f"sign-up of {name} refused: {out.message}")
        for _, address in accounts:
            if not core.email.verify(link_token(mailed_link(server, address,
                                                            "/email/verify/", 30))).ok:
                raise RuntimeError(f"{address} could not be verified")
        return accounts
    finally:
        core.close()


def _outbox(mongo_uri: str, query: dict, projection: dict | None = None) -> list[dict]:
    client: MongoClient = MongoClient(mongo_uri, serverSelectionTimeoutMS=10_000)
    try:
        return list(client.get_default_database()["outbox"].find(query, projection))
    finally:
        client.close()


def wait_drained(mongo_uri: str, timeout: float) -> float | None:
    """Seconds until no message in the outbox is pending; None if some still were after
    `timeout`."""
    client: MongoClient = MongoClient(mongo_uri, serverSelectionTimeoutMS=10_000)
    outbox = client.get_default_database()["outbox"]
    start = time.monotonic()
    try:
        while outbox.count_documents({"status": "pending"}):
            if time.monotonic() - start > timeout:
                return None
            time.sleep(0.25)
        return time.monotonic() - start
    finally:
        client.close()


@dataclass
class MailLedger:
    """The outbox against what the SMTP server received, by Message-ID."""

    enqueued: int
    by_status: Counter  # pending, delivered, failed
    by_kind: Counter  # password_reset, email_verification, ...
    retried: int  # messages that needed more than one attempt
    received: int  # copies the server received
    lost: list[str]  # enqueued, never received
    unknown: list[str]  # received, never enqueued
    duplicates: dict[str, int]  # Message-ID -> copies, for those received more than once
    times: list[tuple[float, float | None]]  # (enqueued, delivered) of each, time.time()

    def backlog_cleared(self, at: float) -> float | None:
        """Seconds from `at` until every message enqueued before it was delivered."""
        before = [delivered for created, delivered in self.times if created < at]
        if not before or None in before:
            return None
        return max(0.0, max(before) - at)  # type: ignore[type-var]


def mail_ledger(mongo_uri: str, server: MailServer) -> MailLedger:
    docs = _outbox(mongo_uri, {}, {"message_id": 1, "status": 1, "kind": 1, "attempts": 1,
                                   "created_at": 1, "delivered_at": 1})
    enqueued = {d["message_id"] for d in docs}
    copies = Counter(server.message_ids())
    return MailLedger(
        enqueued=len(docs), by_status=Counter(d["status"] for d in docs),
        by_kind=Counter(d.get("kind") or "-" for d in docs),
        retried=sum(d.get("attempts", 0) > 1 for d in docs), received=sum(copies.values()),
        lost=sorted(enqueued - set(copies)), unknown=sorted(set(copies) - enqueued),
        duplicates={m: n for m, n in copies.items() if n > 1},
        times=[(_epoch(d["created_at"]), _epoch(d.get("delivered_at"))) for d in docs])


def _epoch(moment: datetime | None) -> float | None:
    """A datetime read from the database (naive: UTC) as time.time()."""
    if moment is None:
        return None
    return moment.replace(tzinfo=moment.tzinfo or UTC).timestamp()
