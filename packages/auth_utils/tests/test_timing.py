"""An unknown username must cost what a wrong password costs (no user enumeration)."""

import statistics
import time

from auth_utils import Result, passwords


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
