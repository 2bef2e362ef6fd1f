"""Faults under load, at a small scale: both apps with two workers each (as docs/deploy.md
runs them) on a database of their own, a few seconds of load from an in-process client,
and the checkers of `uv run loadtest --fault` (devtools.loadtest) judging what was lost.
Timing promises of an outage are asserted in tests/test_outage.py, not here."""

from __future__ import annotations

import time

import pytest

from devtools.loadtest import checks, faults
from devtools.loadtest.journal import CONNECTION_ERROR, Journal
from devtools.loadtest.stack import LoadStack
from devtools.loadtest.workload import Workload

pytestmark = pytest.mark.e2e

USERS = 3


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    system = LoadStack(tmp_path_factory.mktemp("faults"), workers=2, test_commands=True)
    system.start()
    yield system
    system.stop()


@pytest.fixture
def journal():
    return Journal()


def test_killed_workers_are_replaced_and_no_session_is_lost(stack, journal):
    canaries = checks.Canaries(stack, 4, prefix="wk")
    load = Workload(stack, journal, USERS, prefix="wk").start()
    try:
        time.sleep(2)
        killed_at = time.time()
        replaced = {}
        for app in ("landing", "web"):
            pid = faults.kill_worker(stack, app)
            replaced[app] = faults.wait_replaced(stack, app, pid)
        settled = time.time()
        time.sleep(2)
    finally:
        load.stop()
    assert all(seconds is not None for seconds in replaced.values()), replaced
    assert canaries.lost() == 0
    statuses = [r.status for r in journal.requests]
    assert not [s for s in statuses if s >= 500], "a live worker answered 5xx"
    # Only requests in flight on a killed worker may go unanswered.
    unanswered = [r for r in journal.requests if r.status == CONNECTION_ERROR]
    assert all(killed_at - 15 <= r.at <= settled + 1 for r in unanswered), unanswered
    assert len(unanswered) <= 2 * USERS
    assert len(journal.signups) > 0 and statuses.count(200) > 0
    print(f"worker-kill: replaced in {replaced}, {len(statuses)} requests, "
          f"{len(unanswered)} in flight on the killed workers")


@pytest.mark.parametrize("how", sorted(faults.FEED_BREAKS))
def test_no_revoked_session_is_accepted_while_the_feed_is_broken(stack, journal, how):
    load = Workload(stack, journal, USERS, prefix=f"fb{how}").start()
    replayer = checks.Replayer(stack, journal.revoked_tokens).start()
    canaries = checks.Canaries(stack, 2, prefix=f"fb{how}")
    restarts_before = checks.feed_restarts(stack)
    try:
        with faults.feed_broken(stack.db.uri, how):
            # Sessions cached by every worker, then logged out, while the feed is broken.
            for n in range(4):
                assert checks.revoke_a_cached_session(stack, journal, f"fb{how}{n}") == 0
            time.sleep(1.0)
            broken_restarts = checks.feed_restarts(stack) - restarts_before
            assert canaries.lost() == 0  # the caches fall back to the database
    finally:
        replayer.stop()
        load.stop()
    print(f"feed-break {how}: {replayer.replays} replays of {len(journal.logouts)} revoked "
          f"sessions, {len(replayer.accepted)} accepted; feed restarts {broken_restarts}")
    assert replayer.replays > 0 and replayer.accepted == []
    assert broken_restarts > 0, "the feed was not broken"
    assert not [r for r in journal.requests if r.status >= 500 and r.status != 503]
    assert checks.revoked_accepted(stack, journal.revoked_tokens()) == 0


def test_nothing_acknowledged_is_lost_across_a_database_kill(stack, journal):
    canaries = checks.Canaries(stack, 3, prefix="dk")
    load = Workload(stack, journal, USERS, prefix="dk").start()
    try:
        time.sleep(2)
        killed = faults.kill_database(stack)
        time.sleep(2)
        faults.restart_database(stack)
        healthy = checks.wait_healthy(stack)
        assert healthy is not None, "the apps did not recover"
        time.sleep(2)
    finally:
        load.stop()
    before = [name for name, answered in journal.signups if answered < killed]
    assert before, "no sign-up was acknowledged before the kill"
    assert checks.lost_signups(stack.db.uri, before) == 0
    assert checks.lost_signups(stack.db.uri, [name for name, _ in journal.signups]) == 0
    assert journal.logouts
    assert checks.revoked_accepted(stack, journal.revoked_tokens()) == 0
    assert canaries.lost() == 0
    assert checks.outage(journal.requests, killed, healthy).bad == 0  # 503, never 500
    print(f"db-kill: {len(journal.signups)} sign-ups ({len(before)} before the kill) and "
          f"{len(journal.logouts)} log-outs checked after the restart")
