"""Throttling as an attacker tests it: in parallel, from several processes, with
malformed names and many addresses of one network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from auth_utils import Result
from auth_utils.rules.passwords import HasherBusy, HashingGate
from auth_utils.services.metrics import HASH_DURATION
from auth_utils.services.throttle_memory import OverLimit
from devtools.testing import parallel


def test_parallel_wrong_passwords_check_at_most_the_limit(make_core):
    accounts = make_core(login_max_failures_per_user=10).accounts
    assert accounts.sign_up("alice", "correct horse", ip="1").ok
    # Every thread from its own address: only the per-user limit can stop them.
    results = parallel(40, lambda i: accounts.log_in("alice", "wrong horse",
                                                     ip=f"10.0.0.{i}").result)
    assert results[Result.INCORRECT] == 10, results  # passwords checked == the limit
    assert results[Result.THROTTLED] == 30, results


def test_parallel_current_password_checks_at_most_the_limit(make_core):
    core = make_core(login_max_failures_per_user=10)
    alice = core.accounts.sign_up("alice", "correct horse", ip="1")
    results = parallel(40, lambda i: core.passwords.change_password(
        alice.user, "wrong horse", "new password", "new password", ip=f"10.0.1.{i}",
        keep_session_id=alice.session.id).result)
    assert results[Result.INCORRECT] == 10, results
    assert results[Result.THROTTLED] == 30, results


RACER = """
import json, sys, threading
from collections import Counter
from auth_utils import build_core, load_settings
core = build_core(load_settings(), cache=False)
barrier, results, lock = threading.Barrier(20), Counter(), threading.Lock()
def run(i):
    barrier.wait(timeout=30)
    # argv[2]: the address, or a template of it per process (n) and thread (i)
    ip = sys.argv[2].format(n=sys.argv[1], i=i) if len(sys.argv) > 2 else f"10.{sys.argv[1]}.0.{i}"
    for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1):
        outcome = core.accounts.log_in("alice", "wrong horse", ip=ip)
        with lock:
            results[outcome.result.value] += 1
threads = [threading.Thread(target=run, args=(i,)) for i in range(20)]
[t.start() for t in threads]; [t.join(timeout=120) for t in threads]
print(json.dumps(results))
"""


def test_two_processes_check_at_most_the_limit_together(make_core):
    assert make_core().accounts.sign_up("alice", "correct horse", ip="1").ok
    env = {**os.environ, "LOGIN_MAX_FAILURES_PER_USER": "10"}
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(n)], env=env, text=True,
                              stdout=subprocess.PIPE) for n in (1, 2)]
    totals: Counter = Counter()
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        totals.update(json.loads(out))
    assert totals["incorrect"] == 10, totals
    assert totals["throttled"] == 30, totals


def test_two_processes_from_one_address_check_at_most_its_limit_together(make_core, db):
    """The same race on the per-address limit, which each process also remembers once
    it is over (OverLimit): three attempts a thread, so the later ones meet the memory,
    which may only ever refuse more."""
    assert make_core().accounts.sign_up("alice", "correct horse", ip="1").ok
    env = {**os.environ, "LOGIN_MAX_FAILURES_PER_IP": "10",
           "LOGIN_MAX_FAILURES_PER_USER": "1000", "HASHING_MAX_PER_CLIENT": "1000"}
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(n), "203.0.113.50", "3"],
                              env=env, text=True, stdout=subprocess.PIPE) for n in (1, 2)]
    totals: Counter = Counter()
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        totals.update(json.loads(out))
    assert totals["incorrect"] == 10, totals
    assert totals["throttled"] == 110, totals
    stored = db.throttles.find_one({"_id": {"$regex": "^login-ip:203.0.113.50:"}})["count"]
    assert 11 <= stored < 120  # attempts refused from memory are not counted


def test_malformed_usernames_count_against_the_ip(make_core, db):
    accounts = make_core(login_max_failures_per_ip=3).accounts
    for name in ("x", "a" * 40, "bad name!", "\u212aate"):
        accounts.log_in(name, "some password", ip="203.0.113.9")
    assert db.throttles.count_documents({"_id": {"$regex": "^login-ip:203.0.113.9:"}}) == 1
    # The fourth was refused without a hasher run; so is a real user from that address.
    assert accounts.sign_up("kate", "correct horse", ip="1").ok
    assert accounts.log_in("kate", "correct horse", ip="203.0.113.9").result is Result.THROTTLED
    assert accounts.log_in("kate", "correct horse", ip="203.0.113.10").ok


def test_junk_from_many_addresses_costs_a_write_per_ten_attempts(make_core, db, clock):
    """Security round 3: a flood of malformed log-ins from 16 addresses, each under its
    limit, was a counter write per attempt (a legitimate log-in elsewhere got 5-8x
    slower). Junk checks no password, so it is tallied in memory and written ten at a
    time; the per-address limit still refuses it, and password checks stay exact."""
    core = make_core(login_max_failures_per_ip=40)
    accounts = core.accounts

    def stored(ip: str) -> int:
        doc = db.throttles.find_one({"_id": {"$regex": f"^login-ip:{ip}:"}})
        return doc["count"] if doc else 0

    for n in range(16):
        for _ in range(25):  # under the limit of 40
            assert accounts.log_in("!!junk!!", "x", ip=f"198.51.100.{n}").result is \
                Result.INCORRECT
    writes = sum(stored(f"198.51.100.{n}") for n in range(16))
    assert writes == 16 * 20, writes  # 2 writes of 10 per address; 5 each still in memory
    # Near the limit every attempt is written, so it refuses when it did before.
    results = [accounts.log_in("!!junk!!", "x", ip="198.51.100.0").result for _ in range(20)]
    assert results.count(Result.INCORRECT) == 15 and results[15:] == [Result.THROTTLED] * 5
    assert stored("198.51.100.0") == 41
    # A name of the right shape is counted exactly, each attempt before its check (the
    # address's 5 junk attempts in memory stay there).
    accounts.log_in("nobody", "x", ip="198.51.100.1")
    assert stored("198.51.100.1") == 20 + 1


def test_malformed_usernames_are_answered_like_a_wrong_password_without_a_hash(make_core):
    """The shape rule is public: hashing such a name hides nothing and would let a flood
    of them hold the hasher in front of real log-ins."""
    accounts = make_core().accounts
    hashes_before = HASH_DURATION.collect()[0].samples
    outcome = accounts.log_in("bad name!", "some password", ip="203.0.113.9")
    assert outcome.result is Result.INCORRECT
    assert HASH_DURATION.collect()[0].samples == hashes_before
    accounts.log_in("nobody", "some password", ip="203.0.113.9")  # well formed: hashed
    assert HASH_DURATION.collect()[0].samples != hashes_before


def test_a_bucket_over_its_limit_is_refused_from_memory_until_its_window_ends(
        make_core, db, clock):
    """A flood from one address costs one database round trip per process and window
    once it is over its limit, not one per request."""
    accounts = make_core(login_max_failures_per_ip=3).accounts

    def count() -> int:
        return db.throttles.find_one({"_id": {"$regex": "^login-ip:203.0.113.9:"}})["count"]

    for _ in range(3):
        assert accounts.log_in("bad name!", "x", ip="203.0.113.9").result is Result.INCORRECT
    over = accounts.log_in("bad name!", "x", ip="203.0.113.9")
    assert over.result is Result.THROTTLED and 0 < over.retry_after <= 15 * 60
    assert count() == 4  # the hit that went over the limit was counted, and remembered
    flood = parallel(20, lambda i: accounts.log_in("kate", "x", ip="203.0.113.9").result)
    assert flood == {Result.THROTTLED: 20}
    assert count() == 4  # nothing more was asked of the database
    assert accounts.steps.throttler.known_over_limit("203.0.113.9") == over.retry_after
    assert accounts.steps.throttler.known_over_limit("203.0.113.9", signup=True) is None
    # Another process has not seen it: the database refuses it there, once.
    other = make_core(login_max_failures_per_ip=3).accounts
    assert other.log_in("kate", "x", ip="203.0.113.9").result is Result.THROTTLED
    assert other.log_in("kate", "x", ip="203.0.113.9").result is Result.THROTTLED
    assert count() == 5
    clock.advance(seconds=over.retry_after)  # a new window: the database decides again
    assert accounts.steps.throttler.known_over_limit("203.0.113.9") is None
    assert accounts.log_in("bad name!", "x", ip="203.0.113.9").result is Result.INCORRECT


def test_over_limit_memory_is_bounded():
    memory, now = OverLimit(max_keys=2), datetime(2026, 1, 1, tzinfo=UTC)
    memory.remember("a", now + timedelta(seconds=1), now)
    memory.remember("b", now + timedelta(seconds=60), now)
    later = now + timedelta(seconds=2)
    memory.remember("c", now + timedelta(seconds=60), later)  # "a" has ended: room made
    memory.remember("d", now + timedelta(seconds=60), later)  # full: the database decides
    assert [memory.wait(k, later) for k in "abcd"] == [None, 58, 58, None]
    kept = memory._until
    memory.remember("e", now + timedelta(seconds=60), later)
    assert memory._until is kept  # full and nothing ended: no scan, per request
    memory.remember("f", now + timedelta(seconds=90), now + timedelta(seconds=61))
    assert [memory.wait(k, now + timedelta(seconds=61)) for k in "bcf"] == [None, None, 29]


def test_ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4(make_core):
    accounts = make_core(login_max_failures_per_ip=2).accounts
    assert accounts.sign_up("alice", "correct horse", ip="1").ok
    accounts.log_in("alice", "wrong horse", ip="2001:db8:1:2::1")
    accounts.log_in("alice", "wrong horse", ip="2001:db8:1:2:ffff::9")
    blocked = accounts.log_in("alice", "correct horse", ip="2001:db8:1:2:abcd::1")
    assert blocked.result is Result.THROTTLED
    assert accounts.log_in("alice", "correct horse", ip="2001:db8:1:3::1").ok
    accounts.log_in("alice", "wrong horse", ip="::ffff:198.51.100.13")
    accounts.log_in("alice", "wrong horse", ip="198.51.100.13")
    assert accounts.log_in("alice", "correct horse", ip="198.51.100.13").result \
        is Result.THROTTLED


def test_hashing_gate_refuses_at_once_beyond_its_queue_and_per_client_share():
    shared = HashingGate(3, max_wait=0.2, per_client=2)
    with shared.admit("a"), shared.admit("a"), pytest.raises(HasherBusy) as busy, \
            shared.admit("a"):
        pass
    assert busy.value.this_client and busy.value.retry_after == 1
    with shared.admit("a"), shared.admit("b"):
        pass  # the shares are per client, and given back
    gate = HashingGate(1, max_wait=0.2, per_client=2)
    release = threading.Event()

    def hold() -> None:
        with gate.slot("b"):
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.05)
    try:
        # The one slot stays taken: the wait is bounded.
        with pytest.raises(HasherBusy) as waited, gate.slot("c"):
            pass
        assert not waited.value.this_client and waited.value.retry_after >= 1
    finally:
        release.set()
        holder.join()
    with gate.slot("c"):
        pass  # free again


def test_a_free_slot_goes_to_the_client_served_least_recently():
    gate, order, lock = HashingGate(1, max_wait=5), [], threading.Lock()
    release = threading.Event()

    def hash_for(client: str, hold: bool = False) -> None:
        with gate.slot(client):
            with lock:
                order.append(client)
            if hold:
                release.wait(5)

    first = threading.Thread(target=hash_for, args=("flood", True))
    first.start()
    time.sleep(0.05)
    queued = [threading.Thread(target=hash_for, args=("flood",))]  # arrives first
    queued[0].start()
    time.sleep(0.05)
    queued.append(threading.Thread(target=hash_for, args=("legit",)))
    queued[1].start()
    time.sleep(0.05)
    release.set()
    for t in [first, *queued]:
        t.join(timeout=10)
    assert order == ["flood", "legit", "flood"]  # not first come, first served


def test_a_flood_from_one_address_leaves_others_a_place_in_the_queue(make_core):
    accounts = make_core(hashing_max_per_client=2).accounts
    assert accounts.sign_up("alice", "correct horse", ip="1").ok
    flood = parallel(32, lambda i: accounts.log_in("!!bad!!", "x" * 20,
                                                   ip="203.0.113.7").result)
    # At most the address's share reached the hasher; the rest were refused at once.
    assert flood[Result.INCORRECT] <= 32 and flood[Result.THROTTLED] >= 1, flood
    assert accounts.log_in("alice", "correct horse", ip="198.51.100.1").ok


def test_many_64s_of_one_48_exhaust_its_limit_while_another_48_is_unaffected(make_core, db):
    """One customer's /48 holds 65,536 /64s: 40 parallel log-ins, each from a /64 of its
    own (under its per-/64 limit of 2), check at most the /48's limit (10 x 2) of
    passwords; the /48 is then refused, even for the right password, while another /48
    and IPv4 (counted per address as before) are not."""
    accounts = make_core(login_max_failures_per_ip=2, login_max_failures_per_user=1000,
                         hashing_max_per_client=1000).accounts
    # A queue for all 80 hashes: on a loaded machine the default gate answers some of
    # them 503 (busy: given back, not counted), which is not what this test is about.
    accounts.steps.gate = HashingGate(per_client=1000, max_wait=60)
    assert accounts.sign_up("alice", "correct horse", ip="1").ok
    results = parallel(40, lambda i: accounts.log_in(
        "alice", "wrong horse", ip=f"2001:db8:aaaa:{i:x}::1").result)
    limit = accounts.steps.throttler.settings.login_limit_per_ip48
    assert results[Result.INCORRECT] == 20 == limit, results
    assert results[Result.THROTTLED] == 20, results
    counted = db.throttles.find_one({"_id": {"$regex": "^login-ip48:2001:db8:aaaa::/48:"}})
    assert counted["count"] >= 21
    # A fresh /64 of that /48 with the right password: refused; another /48: logged in.
    fresh = accounts.log_in("alice", "correct horse", ip="2001:db8:aaaa:ffff::1")
    assert fresh.result is Result.THROTTLED and fresh.retry_after > 0
    assert accounts.steps.throttler.known_over_limit("2001:db8:aaaa:fffe::9")  # from memory
    assert accounts.log_in("alice", "correct horse", ip="2001:db8:bbbb:1::1").ok
    assert accounts.steps.throttler.known_over_limit("2001:db8:bbbb:2::1") is None
    # IPv4: still per address, no coarser bucket (40 addresses of one /24, 1 try each).
    ipv4 = parallel(40, lambda i: accounts.log_in("alice", "wrong horse",
                                                  ip=f"198.51.100.{i}").result)
    assert ipv4 == {Result.INCORRECT: 40}, ipv4
    assert db.throttles.count_documents({"_id": {"$regex": "^login-ip48:198"}}) == 0


def test_two_processes_from_40_64s_of_one_48_check_at_most_its_limit_together(make_core):
    assert make_core().accounts.sign_up("alice", "correct horse", ip="1").ok
    env = {**os.environ, "LOGIN_MAX_FAILURES_PER_IP": "5", "LOGIN_MAX_FAILURES_PER_IP48": "15",
           "LOGIN_MAX_FAILURES_PER_USER": "1000", "HASHING_MAX_PER_CLIENT": "1000"}
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(n),
                              "2001:db8:cccc:{n}{i:02x}::1"], env=env,
                              text=True, stdout=subprocess.PIPE) for n in (1, 2)]
    totals: Counter = Counter()
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        totals.update(json.loads(out))
    assert totals["incorrect"] == 15, totals
    assert totals["throttled"] == 25, totals


def test_a_refund_gives_back_every_key_the_attempt_counted(make_core, db, clock):
    """A right password, a right second factor after a pending log-in (login_completed)
    and a refund each give the /48's reservation back as well as the /64's."""
    core = make_core(login_max_failures_per_ip=100)
    accounts = core.accounts
    throttler = accounts.steps.throttler

    def counts() -> dict[str, int]:
        return {d["_id"].split(":")[0]: d["count"] for d in db.throttles.find(
            {"_id": {"$regex": "^login-(ip|ip48|user):"}})}

    ip = "2001:db8:dddd:1::1"
    attempt = throttler.begin_login("alice", ip)
    assert attempt.network_key == "login-ip48:2001:db8:dddd::/48"
    assert set(attempt.keys) == {attempt.ip_key, attempt.network_key, "login-user:alice"}
    assert counts() == {"login-ip": 1, "login-ip48": 1, "login-user": 1}
    throttler.refund(attempt)
    assert counts() == {"login-ip": 0, "login-ip48": 0, "login-user": 0}
    throttler.login_succeeded(throttler.begin_login("alice", ip))
    assert counts()["login-ip"] == 0 and counts()["login-ip48"] == 0
    counted = throttler.begin_login("alice", ip)
    throttler.login_completed("alice", ip, counted.counted_at)
    assert counts()["login-ip"] == 0 and counts()["login-ip48"] == 0
    # Through the flows: a pending log-in stays counted under both, until its code.
    user = accounts.sign_up("alice", "correct horse", ip="1").user
    enrolment = core.second_factor.factors.start(user.id, "alice")
    now = core.sessions.clock()
    assert core.second_factor.factors.confirm(user.id, pyotp.TOTP(enrolment.secret).at(now))
    pending = accounts.log_in("alice", "correct horse", ip=ip)
    assert pending.result is Result.SECOND_FACTOR
    assert counts()["login-ip"] == 1 and counts()["login-ip48"] == 1
    v = core.sessions.validate_session_token(pending.token)
    code = pyotp.TOTP(enrolment.secret).at(now + timedelta(seconds=30))
    clock.advance(seconds=30)
    assert core.second_factor.verify(v.session, v.user, code, ip=ip).ok
    assert counts()["login-ip"] == 0 and counts()["login-ip48"] == 0
    # IPv4 has no /48 key; neither has IPv6 when THROTTLE_IPV6_PREFIX is 48 or wider.
    assert throttler.begin_login("alice", "198.51.100.7").network_key is None
    wide = make_core(throttle_ipv6_prefix=48).accounts.steps.throttler
    assert wide.begin_login("alice", ip).network_key is None
