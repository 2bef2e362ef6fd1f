"""The after-the-answer worker (auth_utils.services.background): jobs start after a short delay,
a job that finds the database down for a moment runs again, any other failure is logged
and the worker goes on."""

from __future__ import annotations

import time

from auth_utils.services.background import Background


class Down(Exception):
    pass


def test_a_job_that_finds_the_database_down_runs_again_and_others_go_on():
    worker = Background("test", start_after=0.0, retry_on=(Down,), attempts=3,
                        retry_every=0.01)
    runs: list[str] = []

    def flaky() -> None:
        runs.append("flaky")
        if runs.count("flaky") < 3:
            raise Down("no answer")

    def broken() -> None:
        runs.append("broken")
        raise ValueError("a bug")

    worker.submit(flaky)
    worker.submit(broken)
    worker.submit(lambda: runs.append("after"))
    assert worker.join(5)
    assert runs == ["flaky", "flaky", "flaky", "broken", "after"]
    worker.stop()


def test_a_job_starts_only_after_its_delay():
    worker = Background("test", start_after=0.2)
    started: list[float] = []
    submitted = time.monotonic()
    worker.submit(lambda: started.append(time.monotonic()))
    assert worker.join(5) and started[0] - submitted >= 0.19
    worker.stop()
