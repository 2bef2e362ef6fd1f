"""`uv run loadtest [--fault NAME]`: the whole system on loopback under locust's mixed
workload, a fault injected mid-run, a table of what happened and whether every promise
held (exit 1 if one broke). Reports under artifacts/loadtest/<scenario>/."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devtools.loadtest import checks, faults
from devtools.loadtest.journal import CONNECTION_ERROR, Journal
from devtools.loadtest.stack import GENEROUS_THROTTLES, LoadStack
from devtools.processes import AppProcess, interrupt_on, stop_interrupting
from devtools.testing import ARTIFACTS

SCENARIOS = ("none", "db-kill", "worker-kill", "feed-break", "slow-clients")
OUTAGE_SECONDS = 5.0  # the database stays down this long
MAX_OUTAGE_ANSWER = 2.5  # every request during an outage is answered within this (s)
MAX_RECOVERY = 2.0  # both apps answer 200 within this of the database's restart (s)
MAX_SLOW_CLIENT_ANSWER = 1.0  # a normal request while slow clients hold connections (s)
MIN_RUN = {"none": 10, "db-kill": 20, "worker-kill": 15, "feed-break": 20,
           "slow-clients": 15}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _seconds(text: str) -> int:
    """locust's duration syntax: 90, 90s, 2m, 1m30s, 1h."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (e.g. 45s, 2m, 1m30s)")
    h, m, s = (int(g or 0) for g in match.groups())
    return h * 3600 + m * 60 + s


def _positive(kind: type) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text!r}")
        return value
    return parse


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="loadtest",
        description="Start a local SecantusDB (--sync-on-commit) and both apps with several "
                    "workers each (as docs/deploy.md runs them) on free loopback ports, run "
                    "locust headless with realistic users (visitors, sign-ups, log-ins, "
                    "browsing, /account, password changes, log-outs), optionally inject a "
                    "fault mid-run, then print requests, failures by status, p50/p99, "
                    "recovery time and the nothing-lost counts. Exit 1 if a promise broke.",
        epilog="Faults: db-kill (SIGKILL the database, restart it 5 s later), worker-kill "
               "(SIGKILL one worker of each app), feed-break (break the session-"
               "invalidation change stream: stalled, failing, cut), slow-clients (200 idle "
               "keep-alive, 2 silent and 2 trickling connections per app). Throttling "
               "limits are raised for the run: every client is 127.0.0.1. Reports: "
               "artifacts/loadtest/<scenario>/ (locust's HTML and CSV, summary.json). "
               "See docs/loadtest.md.",
    )
    parser.add_argument("--fault", choices=SCENARIOS, default="none",
                        help="what to break mid-run (default: none, the baseline)")
    parser.add_argument("--users", type=_positive(int), default=20,
                        help="locust users at full load (default 20)")
    parser.add_argument("--spawn-rate", type=_positive(float), default=5.0,
                        help="users started per second (default 5)")
    parser.add_argument("--run-time", type=_seconds, default=_seconds("45s"),
                        help="how long locust runs, e.g. 45s, 2m (default 45s; at least "
                             "10s, 20s with db-kill or feed-break)")
    parser.add_argument("--workers", type=_positive(int), default=2,
                        help="worker processes per app (default 2)")
    parser.add_argument("--out", type=Path, default=ARTIFACTS / "loadtest",
                        help="reports go to OUT/<scenario>/ (default artifacts/loadtest)")
    return parser


@dataclass
class Report:
    scenario: str
    figures: dict[str, object] = field(default_factory=dict)
    promises: dict[str, tuple[float, float, bool]] = field(default_factory=dict)

    def promise(self, name: str, value: float, limit: float) -> None:
        self.promises[name] = (round(value, 3), limit, value <= limit)

    @property
    def kept(self) -> bool:
        return all(ok for _, _, ok in self.promises.values())


def _say(message: str) -> None:
    print(f"loadtest: {message}", flush=True)


def _wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def _db_kill(stack: LoadStack, journal: Journal, at: float, report: Report
             ) -> Callable[[], None]:
    """Kill and restart the database; what it returns judges the outage once the run is
    over (a request that began in the outage may still be waiting now)."""
    _wait_until(at)
    killed = faults.kill_database(stack)
    _say(f"database killed (SIGKILL); restarting it in {OUTAGE_SECONDS:g} s")
    time.sleep(OUTAGE_SECONDS)
    restarted = faults.restart_database(stack)
    healthy = checks.wait_healthy(stack)
    recovery = (healthy - restarted) if healthy else float("inf")
    _say(f"database restarted; both apps answered 200 after {recovery:.2f} s")

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


def _worker_kill(stack: LoadStack, journal: Journal, at: float, report: Report) -> None:
    canaries = checks.Canaries(stack, 5)
    _wait_until(at)
    killed_at = time.time()
    replaced = {}
    for app in ("landing", "web"):
        pid = faults.kill_worker(stack, app)
        replaced[app] = faults.wait_replaced(stack, app, pid)
        seconds = replaced[app]
        _say(f"killed {app} worker {pid} (SIGKILL); "
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


def _feed_break(stack: LoadStack, journal: Journal, at: float, end: float,
                report: Report) -> None:
    phase = max(3.0, min(10.0, (end - at - 5) / len(faults.FEED_BREAKS)))
    _wait_until(at)
    restarts = checks.feed_restarts(stack)
    n = accepted = 0
    for how in faults.FEED_BREAKS:
        _say(f"session feed broken ({how}) for {phase:.0f} s")
        with faults.feed_broken(stack.db.uri, how):
            stop = time.time() + phase
            while time.time() < stop:
                accepted += checks.revoke_a_cached_session(stack, journal,
                                                           f"revoked{n}") or 0
                n += 1
    _say("session feed repaired")
    restarts = checks.feed_restarts(stack) - restarts
    report.figures["revoked sessions made during the break"] = n
    report.figures["of those, accepted right after the log-out"] = accepted
    report.promise("revoked sessions accepted right after the log-out", accepted, 0)
    report.figures["feed restarts seen by the apps' caches"] = restarts
    report.promise("feed breaks not noticed by the caches", float(restarts == 0), 0)


def _slow_clients(stack: LoadStack, at: float, end: float, report: Report,
                  baseline: dict | None) -> tuple[float, float]:
    _wait_until(at)
    slow = faults.SlowClients(stack).start()
    _say("slow clients connected: 200 idle keep-alive, 2 silent, 2 trickling per app")
    probe = checks.Probe(stack).start()
    started = time.time()
    _wait_until(end - 3)
    probe.stop()
    slow.stop()
    _say(f"slow clients gone (servers hung up on them {slow.closed_by_server} times)")
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


def _summarise(stack: LoadStack, journal: Journal, report: Report,
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


def _print(report: Report) -> None:
    print(f"\nscenario {report.scenario}", flush=True)
    for name, value in report.figures.items():
        print(f"  {name:<52} {value}")
    print("  promises:")
    for name, (value, limit, ok) in report.promises.items():
        print(f"    {'ok    ' if ok else 'BROKEN'} {name:<58} {value} (limit {limit})")
    print(f"\nloadtest: {report.scenario}: "
          f"{'every promise kept' if report.kept else 'a promise was broken'}", flush=True)


def _overview(root: Path) -> None:
    """One line per scenario whose summary is under `root` (this run's and earlier ones)."""
    rows = []
    for name in SCENARIOS:
        path = root / name / "summary.json"
        if not path.exists():
            continue
        summary = json.loads(path.read_text())
        f = summary["figures"]
        kept = all(ok for _, _, ok in summary["promises"].values())
        recovery = f.get("recovery (s)", f.get("worker replaced after (s)", "-"))
        if isinstance(recovery, dict):
            recovery = max((v for v in recovery.values() if v is not None), default="-")
        revoked = (f["revoked sessions accepted (replayed during the run)"]
                   + f["revoked sessions accepted (replayed after the run)"])
        failures = ",".join(f"{k}:{v}" for k, v in f["failures by status"].items()) or "-"
        rows.append((name, summary["date"], f["requests"], failures,
                     "/".join(str(v) for v in f["p50/p99 (ms)"]), recovery,
                     f["lost sign-ups"], revoked, f["5xx other than 503"],
                     f.get("max latency in outage (s)", "-"), "yes" if kept else "NO"))
    header = ("scenario", "date", "requests", "failures", "p50/p99 ms", "recovery s",
              "lost sign-ups", "revoked accepted", "5xx!=503", "max in outage s", "kept")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print("\nscenarios run so far (" + str(root) + ")")
    for row in [header, *rows]:
        print("  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


def run(args: argparse.Namespace) -> int:
    scenario = args.fault
    out = args.out / scenario
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"loadtest-{scenario}-"))
    baseline_file = args.out / "none" / "summary.json"
    baseline = json.loads(baseline_file.read_text()) if (
        scenario == "slow-clients" and baseline_file.exists()) else None
    stack = LoadStack(workdir, workers=args.workers,
                      test_commands=scenario == "feed-break")
    locust: AppProcess | None = None
    replayer: checks.Replayer | None = None
    report = Report(scenario)
    interrupt_on(signal.SIGINT, signal.SIGTERM)
    try:
        _say(f"starting SecantusDB (--sync-on-commit) and both apps with {args.workers} "
             f"workers each on loopback (work files in {workdir})")
        stack.start()
        _say(f"landing {stack.landing_url}, web {stack.web_url}, database {stack.db.port}")
        _say("throttling raised for the run, since every client is 127.0.0.1: "
             + ", ".join(f"{k}={v}" for k, v in GENEROUS_THROTTLES.items()))
        journal_path = workdir / "journal.jsonl"
        journal = Journal(source=journal_path)
        locust = AppProcess("locust", {
            **stack.env, "LOADTEST_JOURNAL": str(journal_path),
            "LOADTEST_WEB_URL": stack.web_url,
        }, args=(
            "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
            "--host", stack.landing_url, "--users", str(args.users),
            "--spawn-rate", f"{args.spawn_rate:g}", "--run-time", f"{args.run_time}s",
            "--stop-timeout", "5", "--exit-code-on-error", "0", "--only-summary",
            "--html", str(out / "report.html"), "--csv", str(out / "locust"),
            "--loglevel", "WARNING",
        ), log_path=out / "locust.log", cwd=workdir).start()
        started = time.time()
        _say(f"locust: {args.users} users (+{args.spawn_rate:g}/s) for {args.run_time} s; "
             f"fault: {scenario}")
        end = started + args.run_time
        fault_at = started + max(5.0, args.run_time / 3)
        replayer = checks.Replayer(stack, lambda: journal.follow().revoked_tokens()).start()
        window, judge_outage = None, None
        if scenario == "db-kill":
            judge_outage = _db_kill(stack, journal, fault_at, report)
        elif scenario == "worker-kill":
            _worker_kill(stack, journal, fault_at, report)
        elif scenario == "feed-break":
            _feed_break(stack, journal, fault_at, end, report)
        elif scenario == "slow-clients":
            window = _slow_clients(stack, fault_at, end, report, baseline)
        assert locust.process is not None
        locust.process.wait(timeout=max(0.0, end - time.time()) + 60)
        replayer.stop()
        if judge_outage is not None:
            judge_outage()
        _summarise(stack, journal, report, window, replayer)
        (out / "summary.json").write_text(json.dumps(
            {"scenario": scenario, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "users": args.users, "run_time_s": args.run_time, "workers": args.workers,
             "figures": report.figures,
             "promises": {k: list(v) for k, v in report.promises.items()}}, indent=2))
        _print(report)
        _overview(args.out)
        _say(f"reports in {out} (report.html, locust_*.csv, summary.json, locust.log)")
        return 0 if report.kept else 1
    except KeyboardInterrupt:
        _say("interrupted; stopping")
        return 130
    finally:
        stop_interrupting()
        if replayer is not None:
            replayer.stop()
        if locust is not None:
            locust.stop()
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.run_time < MIN_RUN[args.fault]:
        _parser().error(f"--run-time must be at least {MIN_RUN[args.fault]}s with --fault "
                        f"{args.fault}")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
