"""The "database down" state: once an outage is known every storage call fails at once,
one probe finds the database again, and nothing is accepted that should not be."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from auth_utils.services.metrics import render
from devtools.testing import metric_value, wait_for


class Outage:
    """`kill()` the database (SIGKILL), `restart()` it on the same port and data; it is
    back after the test whatever happens."""

    def __init__(self, server) -> None:
        self.server, self.down = server, False

    def kill(self) -> None:
        self.server.kill()
        self.down = True

    def restart(self) -> None:
        if self.down:
            self.server.start()
            self.down = False


@pytest.fixture
def outage(database_server):
    found = Outage(database_server)
    yield found
    found.restart()


def _timed(call) -> tuple[float, BaseException | None]:
    start = time.monotonic()
    try:
        call()
    except Exception as exc:
        return time.monotonic() - start, exc
    return time.monotonic() - start, None


def test_known_outage_fails_at_once_and_one_probe_finds_the_database_again(
        make_core, outage):
    core = make_core()
    core.accounts.register("alice", "correct horse")
    token, _ = core.sessions.create_session("u1", "alice")
    outage.kill()
    first, exc = _timed(lambda: core.storage.users.by_username("alice"))
    assert isinstance(exc, core.storage.Unavailable)  # found out the slow way (<= 2 s)
    assert first < 2.5
    later = []
    for call in (lambda: core.storage.users.by_username("alice"),
                 lambda: core.sessions.validate_session_token(token),
                 lambda: core.accounts.sign_up("bob", "correct horse", ip="10.0.0.1"),
                 lambda: core.accounts.log_in("alice", "correct horse", ip="10.0.0.1")):
        elapsed, exc = _timed(call)
        assert isinstance(exc, core.storage.Unavailable), exc
        later.append(elapsed)
    assert max(later) < 0.1, later  # without the state: 2 s each
    elapsed, _ = _timed(lambda: core.storage.ping())
    assert core.storage.ping() is False and elapsed < 0.1  # /healthz: 503 at once
    assert core.storage.availability.outages == 1  # one outage, not one per call
    text = render()[0].decode()
    assert metric_value(text, "auth_database_down") == 1
    assert core.storage.availability._prober.is_alive()  # the one probe

    outage.restart()
    restarted = time.monotonic()
    assert wait_for(lambda: not core.storage.availability.down, 2.0)
    print(f"first failure {first:.2f} s, later ones max {max(later) * 1000:.1f} ms, "
          f"recovered {time.monotonic() - restarted:.2f} s after the restart")
    assert core.storage.ping()
    assert metric_value(render()[0].decode(), "auth_database_down") == 0
    assert core.accounts.log_in("alice", "correct horse", ip="10.0.0.1").ok


def test_a_failure_older_than_the_recovery_does_not_mark_it_down_again(make_core):
    core = make_core()
    availability = core.storage.availability
    epoch = availability._epoch
    availability.failed(core.storage.Unavailable("a slow call"), epoch)
    assert availability.down
    assert wait_for(lambda: not availability.down, 2.0)  # the database answers: up
    availability.failed(core.storage.Unavailable("began before the recovery"), epoch)
    assert not availability.down


def test_a_sign_up_waiting_for_the_hasher_through_an_outage_is_refused_not_confirmed(
        make_core, outage, db):
    """Issue 14: sign-ups queued behind the hashing gate were confirmed 5-7 s later,
    after the database came back. A slot granted while the database is known down is
    given up: 503 at once, no hash, no user."""
    core = make_core()
    gate = core.accounts.steps.gate
    gate.concurrency, gate.max_wait = 1, 30.0  # only the outage may end carol's wait
    results: list[object] = []
    with gate.slot("someone else"):  # the hasher is busy
        waiting = threading.Thread(target=lambda: results.append(_timed(
            lambda: core.accounts.sign_up("carol", "correct horse", ip="10.0.0.2"))))
        waiting.start()
        assert wait_for(lambda: len(gate._waiting) == 1, 5)  # carol waits for a slot
        outage.kill()
        with pytest.raises(core.storage.Unavailable):
            core.storage.users.count()  # some request finds the database down
        marked = time.monotonic()
        waiting.join(5)
        answered = time.monotonic()  # while the slot is still held: not a granted slot
    _, exc = results[0]
    assert isinstance(exc, core.storage.Unavailable), exc
    assert answered - marked < 0.5
    outage.restart()
    assert wait_for(lambda: not core.storage.availability.down, 2.0)
    assert db.users.count_documents({"username": "carol"}) == 0


def test_a_down_database_never_makes_a_revoked_session_valid(make_core, outage):
    """The cache's guarantee holds through an outage: after the log-out is answered, the
    session is refused or the request fails (503); it is never accepted."""
    core = make_core(cache=True)
    other = make_core(cache=True)  # another process of either app
    token, session = core.sessions.create_session("u1", "dave")
    assert wait_for(lambda: other.sessions.store.active, 5)
    assert other.sessions.validate_session_token(token).valid  # cached there
    core.accounts.log_out(session.id)
    outage.kill()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        cached = other.sessions.validate_cached(token)
        assert cached is None or not cached.valid
        with contextlib.suppress(other.storage.Unavailable):  # a 503 is fine
            assert not other.sessions.validate_session_token(token).valid
