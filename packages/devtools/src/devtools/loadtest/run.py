"""`uv run loadtest [--fault NAME]`: the whole system on loopback under locust's mixed
workload, a fault injected mid-run, a table of what happened and whether every promise
held (exit 1 if one broke). Reports under artifacts/loadtest/<scenario>/."""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from devtools.loadtest import checks, scenarios
from devtools.loadtest.journal import Journal
from devtools.loadtest.scenarios import Report, say
from devtools.loadtest.stack import GENEROUS_THROTTLES, LoadStack
from devtools.mailserver import MailServer
from devtools.processes import AppProcess, CommandParser, interrupt_on, stop_interrupting
from devtools.testing.environment import ARTIFACTS

SCENARIOS = ("none", "db-kill", "worker-kill", "feed-break", "slow-clients", "mail")
MIN_RUN = {"none": 10, "db-kill": 20, "worker-kill": 15, "feed-break": 20,
           "slow-clients": 15, "mail": 20}
RESET_ACCOUNTS = 8  # accounts with a verified address that `--fault mail` resets


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
    parser = CommandParser(
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
               "keep-alive, 2 silent and 2 trickling connections per app), mail (users "
               "also ask for password resets; the SMTP server is stopped for 8 s, then "
               "a mail sender is killed -9 while it sends; every message must arrive, "
               "none twice but the killed sender's). Throttling "
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
        recovery = f.get("recovery (s)", f.get("worker replaced after (s)",
                                               f.get("time to drain after the load (s)", "-")))
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
    smtp = MailServer() if scenario == "mail" else None
    stack = LoadStack(workdir, workers=args.workers,
                      test_commands=scenario == "feed-break",
                      overrides={"SMTP_URL": smtp.url, **scenarios.MAIL_SETTINGS}
                      if smtp else None)
    locust: AppProcess | None = None
    replayer: checks.Replayer | None = None
    report = Report(scenario)
    interrupt_on(signal.SIGINT, signal.SIGTERM)
    try:
        say(f"starting SecantusDB (--sync-on-commit) and both apps with {args.workers} "
             f"workers each on loopback (work files in {workdir})")
        if smtp is not None:
            logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # aiosmtpd's own
            smtp.start()
        stack.start()
        say(f"landing {stack.landing_url}, web {stack.web_url}, database {stack.db.port}")
        say("throttling raised for the run, since every client is 127.0.0.1: "
             + ", ".join(f"{k}={v}" for k, v in GENEROUS_THROTTLES.items()))
        extra = {}
        if smtp is not None:
            say(f"SMTP server {smtp.url}; the apps' mail senders with "
                + ", ".join(f"{k}={v}" for k, v in scenarios.MAIL_SETTINGS.items()))
            accounts = checks.verified_accounts(stack, smtp, RESET_ACCOUNTS)
            extra["LOADTEST_RESET_ACCOUNTS"] = ",".join(f"{n} {a}" for n, a in accounts)
            say(f"{len(accounts)} accounts with a verified address, for the resetters")
        journal_path = workdir / "journal.jsonl"
        journal = Journal(source=journal_path)
        locust = AppProcess("locust", {
            **stack.env, "LOADTEST_JOURNAL": str(journal_path),
            "LOADTEST_WEB_URL": stack.web_url, **extra,
        }, args=(
            "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
            "--host", stack.landing_url, "--users", str(args.users),
            "--spawn-rate", f"{args.spawn_rate:g}", "--run-time", f"{args.run_time}s",
            "--stop-timeout", "5", "--exit-code-on-error", "0", "--only-summary",
            "--html", str(out / "report.html"), "--csv", str(out / "locust"),
            "--loglevel", "WARNING",
        ), log_path=out / "locust.log", cwd=workdir).start()
        started = time.time()
        say(f"locust: {args.users} users (+{args.spawn_rate:g}/s) for {args.run_time} s; "
             f"fault: {scenario}")
        end = started + args.run_time
        fault_at = started + max(5.0, args.run_time / 3)
        replayer = checks.Replayer(stack, lambda: journal.follow().revoked_tokens()).start()
        window, judge = None, None
        if scenario == "db-kill":
            judge = scenarios.db_kill(stack, journal, fault_at, report)
        elif scenario == "worker-kill":
            scenarios.worker_kill(stack, journal, fault_at, report)
        elif scenario == "feed-break":
            scenarios.feed_break(stack, journal, fault_at, end, report)
        elif scenario == "slow-clients":
            window = scenarios.slow_clients(stack, fault_at, end, report, baseline)
        elif smtp is not None:
            judge = scenarios.mail(stack, smtp, journal, fault_at, report)
        assert locust.process is not None
        locust.process.wait(timeout=max(0.0, end - time.time()) + 60)
        replayer.stop()
        if judge is not None:
            judge()
        scenarios.summarise(stack, journal, report, window, replayer)
        (out / "summary.json").write_text(json.dumps(
            {"scenario": scenario, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "users": args.users, "run_time_s": args.run_time, "workers": args.workers,
             "figures": report.figures,
             "promises": {k: list(v) for k, v in report.promises.items()}}, indent=2))
        _print(report)
        _overview(args.out)
        say(f"reports in {out} (report.html, locust_*.csv, summary.json, locust.log)")
        return 0 if report.kept else 1
    except KeyboardInterrupt:
        say("interrupted; stopping")
        return 130
    except RuntimeError as exc:  # a server that would not start: say which, no traceback
        say(f"{exc}; stopping")
        return 1
    finally:
        stop_interrupting()
        if replayer is not None:
            replayer.stop()
        if locust is not None:
            locust.stop()
        stack.stop()
        if smtp is not None:
            smtp.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.run_time < MIN_RUN[args.fault]:
        _parser().error(f"--run-time must be at least {MIN_RUN[args.fault]}s with --fault "
                        f"{args.fault}")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
