"""An unknown username must cost what a wrong password costs (no user enumeration)."""

from __future__ import annotations

import statistics
import threading
import time

from pymongo import MongoClient, monitoring

from auth_utils import Result, build_core
from auth_utils.flows.outcomes import INCORRECT
from auth_utils.rules import passwords
from auth_utils.storage.mongo import MongoStorage
from devtools.testing import wait_for


def test_unknown_user_costs_the_same_as_wrong_password(db, make_core, monkeypatch):
    accounts = make_core().accounts
    assert accounts.sign_up("alice", "correct horse", ip="1").ok

    calls = []

    class CountingHasher:  # a spy: the real argon2 hasher still does the work
        def __init__(self, real):
            self.real = real

        def verify(self, hash_, password):
            calls.append(hash_)
            return self.real.verify(hash_, password)

        def __getattr__(self, name):
            return getattr(self.real, name)

    monkeypatch.setattr(passwords, "hasher", CountingHasher(passwords.hasher))
    assert accounts.log_in("nobody", "wrong password", ip="1").result is Result.INCORRECT
    assert len(calls) == 1 and calls[0].startswith("$argon2id$v=19$m=19456,t=2,p=1$")

    def timed(username: str) -> float:
        # This thread's CPU time: the work the two paths do, not how long other processes
        # kept the CPU (wall time on a loaded 2-core machine swung the ratio to 0.66).
        start = time.thread_time()
        assert accounts.log_in(username, "wrong password", ip="1").result is Result.INCORRECT
        return time.thread_time() - start

    wrong, unknown = [], []
    for n in range(15):  # interleaved so drift on the machine hits both alike
        wrong.append(timed("alice"))
        unknown.append(timed(f"ghost{n}"))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    print(f"median wrong password {statistics.median(wrong) * 1000:.1f} ms, "
          f"unknown user {statistics.median(unknown) * 1000:.1f} ms, ratio {ratio:.2f}")
    assert 1 / 1.5 < ratio < 1.5


class ThreadCommands(monitoring.CommandListener):
    """The commands each thread sends (a listener is called on the sending thread)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.sent.append((threading.get_ident(), event.command_name))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def test_a_real_users_failed_log_in_waits_for_what_an_unknown_ones_does(
        db, settings, clock, database_server):
    """Security round 3, item 4: a real user's failed log-in stored its event on the
    request's path (+8 to +16 ms over HTTP), an unknown name's stores none. The request's
    own thread must now send the very same commands for both (timing alone is too noisy
    on a loaded 2-core machine to catch one round trip); the event is still stored."""
    listener = ThreadCommands()
    client = MongoClient(database_server.uri, event_listeners=[listener], tz_aware=True,
                         uuidRepresentation="standard")
    core = build_core(settings, storage=MongoStorage(client[db.name]), clock=clock,
                      cache=False)
    accounts = core.accounts
    try:
        assert accounts.sign_up("alice", "correct horse", ip="1").ok

        def failed(username: str) -> tuple[list[str], float]:
            listener.sent.clear()
            start = time.perf_counter()
            outcome = accounts.log_in(username, "wrong password", ip="198.51.100.9")
            took = time.perf_counter() - start
            assert outcome.result is Result.INCORRECT and outcome.message == INCORRECT
            me = threading.get_ident()
            return [name for thread, name in listener.sent if thread == me], took

        # Each name's (and the address's) counter is created by its first attempt, one
        # round trip more for any name, real or not: compared from the second on.
        failed("alice"), failed("ghost")
        real, unknown = [], []
        for _ in range(12):  # interleaved so drift on the machine hits both alike
            sent, took = failed("alice")
            ghost_sent, ghost_took = failed("ghost")
            assert sent == ghost_sent, f"real user: {sent}, unknown: {ghost_sent}"
            real.append(took)
            unknown.append(ghost_took)
        print(f"failed log-in, median: real user {statistics.median(real) * 1000:.1f} ms, "
              f"unknown {statistics.median(unknown) * 1000:.1f} ms (commands: {sent})")
        assert wait_for(lambda: db.security_events.count_documents(
            {"username": "alice", "kind": "login_failed"}) == 13, 5)  # stored all the same
    finally:
        core.close()
        client.close()
