"""The scenarios of `uv run loadtest`: each injects its fault into a running LoadStack
at the given moment and records its figures and promises in a Report; `summarise` adds
what every scenario is judged on (requests, statuses, latencies, nothing lost)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from devtools.loadtest import checks, faults
from devtools.loadtest.journal import CONNECTION_ERROR, Journal
from devtools.loadtest.stack import LoadStack
from devtools.mailserver import MailServer
from devtools.testing.helpers import wait_for

__all__ = ["MAIL_SETTINGS", "Report", "db_kill", "feed_break", "mail", "say", "slow_clients",
           "summarise", "worker_kill"]

OUTAGE_SECONDS = 5.0  # the database stays down this long
MAX_OUTAGE_ANSWER = 2.5  # every request during an outage is answered within this (s)
MAX_RECOVERY = 2.0  # both apps answer 200 within this of the database's restart (s)
MAX_SLOW_CLIENT_ANSWER = 1.0  # a normal request while slow clients hold connections (s)
SMTP_OUTAGE_SECONDS = 8.0  # the SMTP server stays down this long
MAX_DRAIN = 30.0  # after the run, the outbox has nothing pending within this (s)
# The apps' mail senders for `--fault mail` (auth_utils.config; production: 120, 30, 3600):
# a killed sender's message is free again after 5 s, a failed attempt is retried after
# 1 s, then every 2 s (12 attempts ride out ~21 s of SMTP outage, over twice this one).
MAIL_SETTINGS = {"MAIL_LEASE_SECONDS": "5", "MAIL_RETRY_FIRST_SECONDS": "1",
                 "MAIL_RETRY_MAX_SECONDS": "2"}


@dataclass
class Report:
    """A scenario's figures (for the table and summary.json) and its promises, each
    `(value, limit, kept)`: kept when the value is at most the limit."""

    scenario: str
    figures: dict[str, object] = field(default_factory=dict)
    promises: dict[str, tuple[float, float, bool]] = field(default_factory=dict)

    def promise(self, name: str, value: float, limit: float) -> None:
        self.promises[name] = (round(value, 3), limit, value <= limit)

    @property
    def kept(self) -> bool:
        return all(ok for _, _, ok in self.promises.values())


def say(message: str) -> None:
    """One progress line, as the command's own."""
    print(f"loadtest: {message}", flush=True)


def _wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def db_kill(stack: LoadStack, journal: Journal, at: float, report: Report
             ) -> Callable[[], None]:
    """Kill and restart the database; what it returns judges the outage once the run is
    over (a request that began in the outage may still be waiting now)."""
    _wait_until(at)
    killed = faults.kill_database(stack)
    say(f"database killed (SIGKILL); restarting it in {OUTAGE_SECONDS:g} s")
    time.sleep(OUTAGE_SECONDS)
    restarted = faults.restart_database(stack)
    healthy = checks.wait_healthy(stack)
    recovery = (healthy - restarted) if healthy else float("inf")
    say(f"database restarted; both apps answered 200 after {recovery:.2f} s")

    def judge() -> None:
        requests = journal.follow().requests
        during = checks.outage(requests, killed, healthy or time.time())
        last_503 = max((r.end for r in requests
                        if r.status == 503 and r.at < restarted + 10), default=restarted)
        acked_before = [name for name, t in journal.signups if t < killed]
        report.figures.update({
            "outage requests": during.requests,
            "outage statuses": dict(sorted(during.statuses.items())),
            "max latency in outage (s)": round(during.max_seconds, 3),
            "slowest in outage": during.slowest,
            "recovery (s)": round(recovery, 3),
            "last 503 answered (s after the restart)":
                round(max(0.0, last_503 - restarted), 3),
            "sign-ups acknowledged before the kill": len(acked_before),
            "lost sign-ups (before the kill)": checks.lost_signups(stack.db.uri,
                                                                   acked_before),
        })
        report.promise("5xx other than 503 (or no answer) in the outage", during.bad, 0)
        report.promise("max latency in the outage (s)", during.max_seconds,
                       MAX_OUTAGE_ANSWER)
        report.promise("recovery after the restart (s)", recovery, MAX_RECOVERY)

    return judge


def worker_kill(stack: LoadStack, journal: Journal, at: float, report: Report) -> None:
    canaries = checks.Canaries(stack, 5)
    _wait_until(at)
    killed_at = time.time()
    replaced = {}
    for app in ("landing", "web"):
        pid = faults.kill_worker(stack, app)
        replaced[app] = faults.wait_replaced(stack, app, pid)
        seconds = replaced[app]
        say(f"killed {app} worker {pid} (SIGKILL); "
             + (f"a new worker after {seconds:.2f} s" if seconds is not None
                else "not replaced"))
    settled = time.time()
    time.sleep(2.0)
    lost = canaries.lost()
    requests = journal.follow().requests
    unanswered = [r for r in requests if r.status == CONNECTION_ERROR]
    outside = [r for r in unanswered if not killed_at - 15 <= r.at <= settled + 1]
    worst = max((s for s in replaced.values() if s is not None), default=0.0)
    report.figures.update({
        "worker replaced after (s)": {k: round(v, 3) if v is not None else None
                                      for k, v in replaced.items()},
        "requests unanswered (in flight on a killed worker)": len(unanswered) - len(outside),
        "sessions lost": lost,
    })
    report.promise("workers not replaced", sum(v is None for v in replaced.values()), 0)
    report.promise("worker replaced within (s)", worst, 10.0)
    report.promise("sessions lost", lost, 0)
    report.promise("requests unanswered away from the kill", len(outside), 0)


def feed_break(stack: LoadStack, journal: Journal, at: float, end: float,
                report: Report) -> None:
    phase = max(3.0, min(10.0, (end - at - 5) / len(faults.FEED_BREAKS)))
    _wait_until(at)
    restarts = checks.feed_restarts(stack)
    n = accepted = 0
    for how in faults.FEED_BREAKS:
        say(f"session feed broken ({how}) for {phase:.0f} s")
        with faults.feed_broken(stack.db.uri, how):
            stop = time.time() + phase
            while time.time() < stop:
                accepted += checks.revoke_a_cached_session(stack, journal,
                                                           f"revoked{n}") or 0
                n += 1
    say("session feed repaired")
    restarts = checks.feed_restarts(stack) - restarts
    report.figures["revoked sessions made during the break"] = n
    report.figures["of those, accepted right after the log-out"] = accepted
    report.promise("revoked sessions accepted right after the log-out", accepted, 0)
    report.figures["feed restarts seen by the apps' caches"] = restarts
    report.promise("feed breaks not noticed by the caches", float(restarts == 0), 0)


def slow_clients(stack: LoadStack, at: float, end: float, report: Report,
                  baseline: dict | None) -> tuple[float, float]:
    _wait_until(at)
    slow = faults.slow_clients(stack).start()
    say("slow clients connected: 200 idle keep-alive, 2 silent, 2 trickling per app")
    probe = checks.Probe(stack).start()
    started = time.time()
    _wait_until(end - 3)
    probe.stop()
    slow.stop()
    say(f"slow clients gone (servers hung up on them {slow.closed_by_server} times)")
    worst = 0.0
    for app, values in probe.seconds.items():
        values = sorted(values)
        worst = max(worst, values[-1] if values else float("inf"))
        report.figures[f"probe {app} GET /: answers, timeouts, p50/max (s)"] = [
            len(values), probe.timeouts[app],
            round(values[len(values) // 2], 3) if values else None,
            round(values[-1], 3) if values else None]
    report.promise("a normal request while slow clients hold connections (s)", worst,
                   MAX_SLOW_CLIENT_ANSWER)
    if baseline:
        report.figures["none: p50/p99 (ms)"] = baseline["figures"].get("p50/p99 (ms)")
    return started, time.time()


def mail(stack: LoadStack, server: MailServer, journal: Journal, at: float,
         report: Report) -> Callable[[], None]:
    """Stop the SMTP server for SMTP_OUTAGE_SECONDS, then, once it is back, SIGKILL the
    app worker whose sender is handing it a message, before the "250" (one per app at
    most, within 10 s); what it returns waits for the outbox to drain once the load is
    over and judges: every enqueued message received, none twice but the killed senders'
    (same Message-ID), nothing left pending or failed."""
    killer = faults.SenderKiller(stack, server)
    _wait_until(at)
    with faults.smtp_down(server):
        down = time.time()
        say(f"SMTP server stopped; listening again in {SMTP_OUTAGE_SECONDS:g} s")
        time.sleep(SMTP_OUTAGE_SECONDS)
    up = time.time()
    say("SMTP server listening again; the next sender to hand it a message is killed")
    killer.arm()
    wait_for(killer.done, 10.0)
    killer.close()
    for kill in killer.kills:
        say(f"killed {kill.app} worker {kill.pid} (SIGKILL) while the SMTP server held "
            f"{kill.message_id}, {kill.at - up:.2f} s after SMTP came back")

    def judge() -> None:
        time.sleep(1.0)  # reset requests answered last: their mail is queued 0.1 s later
        drained = checks.wait_drained(stack.db.uri, MAX_DRAIN)
        ledger = checks.mail_ledger(stack.db.uri, server)
        crashed = {k.message_id for k in killer.kills}
        expected = {m: n for m, n in ledger.duplicates.items() if m in crashed and n == 2}
        others = {m: n for m, n in ledger.duplicates.items() if m not in expected}
        asked = len(journal.follow().resets)
        report.figures.update({
            "mail enqueued": ledger.enqueued,
            "  by kind": dict(sorted(ledger.by_kind.items())),
            "mail received by the SMTP server (copies)": ledger.received,
            "mail delivered (distinct Message-IDs received)":
                ledger.received - sum(n - 1 for n in ledger.duplicates.values()),
            "mail lost (enqueued, never received)": len(ledger.lost),
            "mail received but never enqueued": len(ledger.unknown),
            "duplicates (Message-ID: copies)": ledger.duplicates,
            "  of those, crash-window duplicates of a killed sender": len(expected),
            "outbox after the drain": dict(sorted(ledger.by_status.items())),
            "SMTP outage (s)": round(up - down, 2),
            "mail enqueued before SMTP came back, all delivered within (s)":
                _rounded(ledger.backlog_cleared(up)),
            "messages retried (more than one attempt)": ledger.retried,
            "senders killed in the crash window": [f"{k.app} {k.pid}" for k in killer.kills],
            "time to drain after the load (s)": _rounded(drained),
            "reset requests answered for a verified account": asked,
            "  whose mail was never enqueued": max(0, asked - ledger.by_kind["password_reset"]),
        })
        for line in ledger.lost[:5] + ledger.unknown[:5]:
            say(f"not matched: {line}")
        report.promise("mail lost", len(ledger.lost), 0)
        report.promise("mail received but never enqueued", len(ledger.unknown), 0)
        report.promise("duplicates other than the crash window's", len(others), 0)
        report.promise("mail left pending or failed",
                       ledger.by_status["pending"] + ledger.by_status["failed"], 0)
        report.promise("time to drain (s)", drained if drained is not None else float("inf"),
                       MAX_DRAIN)
        report.promise("outage not felt (no message retried)", float(ledger.retried == 0), 0)
        report.promise("no sender killed in the crash window", float(not killer.kills), 0)

    return judge


def _rounded(seconds: float | None) -> float | None:
    return round(seconds, 2) if seconds is not None else None


def summarise(stack: LoadStack, journal: Journal, report: Report,
               window: tuple[float, float] | None, replayer: checks.Replayer) -> None:
    journal.follow()
    requests = journal.requests
    statuses = Counter(r.status for r in requests)
    p50, p99 = checks.latency_ms(requests)
    report.figures = {
        "requests": len(requests),
        "failures by status": {("no answer" if s == CONNECTION_ERROR else str(s)): n
                               for s, n in sorted(statuses.items())
                               if s >= 400 or s == CONNECTION_ERROR},
        "p50/p99 (ms)": [round(p50, 1), round(p99, 1)],
        **report.figures,
    }
    if window is not None:
        inside = [r for r in requests if r.overlaps(*window)]
        report.figures["p50/p99 with slow clients (ms)"] = [
            round(v, 1) for v in checks.latency_ms(inside)]
        for app in ("landing", "web"):
            report.figures[f"  {app} only (ms)"] = [
                round(v, 1) for v in checks.latency_ms([r for r in inside if r.app == app])]
    revoked = journal.revoked_tokens()
    after = checks.revoked_accepted(stack, revoked)
    names = [name for name, _ in journal.signups]
    report.figures.update({
        "sign-ups acknowledged": len(names),
        "lost sign-ups": checks.lost_signups(stack.db.uri, names),
        "log-outs acknowledged": len(revoked),
        "revoked sessions accepted (replayed during the run)": len(replayer.accepted),
        "replays during the run": replayer.replays,
        "revoked sessions accepted (replayed after the run)": after,
        "5xx other than 503": sum(n for s, n in statuses.items() if s >= 500 and s != 503),
    })
    report.promise("lost sign-ups", report.figures["lost sign-ups"], 0)  # type: ignore[arg-type]
    report.promise("revoked sessions accepted", len(replayer.accepted) + after, 0)
    if report.scenario != "db-kill":  # there the outage's answers are judged on their own
        report.promise("5xx other than 503", report.figures["5xx other than 503"], 0)  # type: ignore[arg-type]
