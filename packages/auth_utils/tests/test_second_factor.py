"""The second factor on the real server: codes with an injectable clock, replay,
throttling, recovery codes, secrets at rest, pending log-ins and re-authentication."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from auth_utils import Result
from auth_utils.services.second_factor import Check, SecretBox, matching_step
from devtools.testing import parallel


def code_at(secret: str, when) -> str:
    return pyotp.TOTP(secret).at(when)


@pytest.fixture
def alice(core):
    """alice with the second factor on; returns (outcome of sign-up, secret, codes)."""
    out = core.accounts.sign_up("alice", "correct horse", ip="1")
    enrolment = core.second_factor.factors.start(out.user.id, "alice")
    codes = core.second_factor.factors.confirm(
        out.user.id, code_at(enrolment.secret, core.sessions.clock()))
    assert codes and len(codes) == 10 and len(set(codes)) == 10
    return out, enrolment.secret, codes


def test_enrolment_gives_a_160_bit_secret_and_an_otpauth_uri(core):
    user = core.accounts.sign_up("bob", "correct horse", ip="1").user
    enrolment = core.second_factor.factors.start(user.id, "bob")
    assert len(enrolment.secret) == 32  # base32: 160 bits
    assert enrolment.uri.startswith("otpauth://totp/monorepo-auth:bob?secret=")
    assert not core.second_factor.factors.enabled(user.id)
    assert core.second_factor.factors.confirm(user.id, "000000") is None  # wrong code
    assert not core.second_factor.factors.enabled(user.id)


def test_codes_one_step_either_side_accepted_two_steps_refused(core, alice, clock):
    (out, secret, _) = alice
    factors, now = core.second_factor.factors, clock()
    for seconds, expected in ((-60, Check.WRONG), (60, Check.WRONG), (-30, Check.CODE),
                              (0, Check.CODE), (30, Check.CODE)):
        clock.advance(seconds=120)  # a later step each time: no replay in the way
        code = code_at(secret, clock() + timedelta(seconds=seconds))
        assert factors.check(out.user.id, code) is expected, seconds
    assert matching_step(secret, "12345", now) is None and matching_step(secret, "abcdef",
                                                                          now) is None


def test_a_code_is_never_accepted_twice_even_in_parallel(core, alice, clock):
    (out, secret, _) = alice
    clock.advance(seconds=60)
    code = code_at(secret, clock())
    results = parallel(10, lambda i: core.second_factor.factors.check(out.user.id, code))
    assert results[Check.CODE] == 1 and results[Check.WRONG] == 9
    # An older step (the one before) is refused too once a later one was used.
    assert core.second_factor.factors.check(
        out.user.id, code_at(secret, clock() - timedelta(seconds=30))) is Check.WRONG


def test_recovery_codes_work_once_and_are_stored_as_keyed_hashes(core, alice, db):
    (out, _, codes) = alice
    stored = db.second_factors.find_one({"_id": out.user.id})
    assert len(stored["recovery"]) == 10
    assert not any(c.replace("-", "") in str(stored) for c in codes)
    factors = core.second_factor.factors
    assert factors.check(out.user.id, codes[0].lower().replace("-", " ")) is Check.RECOVERY
    assert factors.check(out.user.id, codes[0]) is Check.WRONG  # used up
    assert factors.recovery_left(out.user.id) == 9
    regenerated = factors.regenerate(out.user.id)
    assert factors.check(out.user.id, codes[1]) is Check.WRONG  # all replaced
    assert factors.check(out.user.id, regenerated[0]) is Check.RECOVERY


def test_the_stored_secret_is_not_the_secret_and_opens_only_with_the_key(core, alice, db):
    (out, secret, _) = alice
    sealed = db.second_factors.find_one({"_id": out.user.id})["secret"]
    assert secret not in sealed
    assert core.second_factor.factors.box.open(sealed, out.user.id) == secret
    assert SecretBox("another key").open(sealed, out.user.id) is None
    assert core.second_factor.factors.box.open(sealed, "another user") is None


def test_password_alone_gives_a_pending_session_that_is_not_logged_in(core, alice, clock):
    pending = core.accounts.log_in("alice", "correct horse", ip="1")
    assert pending.result is Result.SECOND_FACTOR and pending.token
    validation = core.sessions.validate_session_token(pending.token)
    assert validation.pending and not validation.valid
    clock.advance(minutes=10, seconds=1)  # ten minutes to give the code
    assert not core.sessions.validate_session_token(pending.token).pending


def test_the_code_rotates_the_token_and_ends_the_pending_session(core, alice, clock):
    (_, secret, codes) = alice
    pending = core.accounts.log_in("alice", "correct horse", ip="1")
    validation = core.sessions.validate_session_token(pending.token)
    clock.advance(seconds=30)
    done = core.second_factor.verify(validation.session, validation.user,
                                              code_at(secret, clock()), ip="1")
    assert done.ok and done.token != pending.token
    assert core.sessions.validate_session_token(done.token).valid
    assert core.sessions.validate_session_token(pending.token).session is None
    again = core.accounts.log_in("alice", "correct horse", ip="1")
    v = core.sessions.validate_session_token(again.token)
    assert core.second_factor.verify(v.session, v.user, codes[3], ip="1").ok


def test_five_wrong_codes_end_the_pending_log_in(core, alice):
    pending = core.accounts.log_in("alice", "correct horse", ip="1")
    v = core.sessions.validate_session_token(pending.token)
    results = [core.second_factor.verify(v.session, v.user, "000000", ip="1").result
               for _ in range(5)]
    assert results == [Result.INCORRECT] * 4 + [Result.ENDED]
    assert core.sessions.validate_session_token(pending.token).session is None


def test_wrong_codes_are_throttled_per_user_across_pending_log_ins(make_core, alice):
    core = make_core(mfa_max_failures_per_user=6)
    (_, secret, _) = alice
    results = []
    for _ in range(2):  # two pending log-ins, 4 wrong codes each
        pending = core.accounts.log_in("alice", "correct horse", ip="1")
        v = core.sessions.validate_session_token(pending.token)
        results += [core.second_factor.verify(v.session, v.user, "000000",
                                                       ip="1").result for _ in range(4)]
    assert results[-1] is Result.THROTTLED and results.count(Result.THROTTLED) == 2
    pending = core.accounts.log_in("alice", "correct horse", ip="1")
    v = core.sessions.validate_session_token(pending.token)
    right = core.second_factor.verify(v.session, v.user,
                                               code_at(secret, core.sessions.clock()), ip="1")
    assert right.result is Result.THROTTLED and right.retry_after > 0  # even the right code


def test_sensitive_changes_need_a_recent_verification(core, alice, clock):
    (out, secret, _) = alice
    session, user = out.session, out.user  # signed up (verified) just now
    clock.advance(minutes=11)
    assert core.second_factor.disable(session, user).result is Result.REAUTH
    refused, _ = core.second_factor.regenerate_recovery_codes(session, user)
    assert refused.result is Result.REAUTH
    assert core.passwords.change_password(user, "correct horse", "new password 1",
                                         "new password 1", ip="1", keep_session_id=session.id,
                                         session=session).result is Result.REAUTH
    wrong = core.passwords.reauthenticate(session, user, "correct horse", "000000", ip="1")
    assert wrong.result is Result.INCORRECT and wrong.field == "code"
    assert core.passwords.reauthenticate(session, user, "correct horse",
                                        code_at(secret, clock()), ip="1").ok
    fresh = core.sessions.validate_session_token(out.token).session
    other = core.accounts.log_in("alice", "correct horse", ip="1")
    assert core.second_factor.disable(fresh, user).ok
    assert not core.second_factor.factors.enabled(user.id)
    assert core.sessions.validate_session_token(other.token).session is None  # others ended
    assert core.sessions.validate_session_token(out.token).valid  # this one stays


def test_a_recovery_code_opens_one_of_ten_parallel_pending_log_ins(core, alice):
    """Ten pending log-ins (an attacker with the password and one leaked recovery code)
    race the same code: exactly one gets a session."""
    (_, _, codes) = alice
    pendings = []
    for _ in range(10):
        token = core.accounts.log_in("alice", "correct horse", ip="1").token
        pendings.append(core.sessions.validate_session_token(token))
    results = parallel(10, lambda i: core.second_factor.verify(
        pendings[i].session, pendings[i].user, codes[5], ip="1").result)
    assert results[Result.OK] == 1 and results[Result.INCORRECT] == 9, results



def test_parallel_password_only_log_ins_never_end_a_complete_session(core, alice, clock):
    """Security round 3, item 1: someone with only the password ran 50 password-only
    log-ins and so ended every complete session of the owner. Pending log-ins now have
    their own bound and never push a complete session out."""
    (out, _, codes) = alice
    owner = [out.token]
    for code in codes[:2]:  # two more complete sessions, as the owner makes them
        v = core.sessions.validate_session_token(
            core.accounts.log_in("alice", "correct horse", ip="2").token)
        owner.append(core.second_factor.verify(v.session, v.user, code, ip="2").token)
    clock.advance(seconds=1)  # the owner's sessions are the oldest: the first a cap ends
    results = parallel(20, lambda i: tuple(
        core.accounts.log_in("alice", "correct horse", ip=f"198.51.100.{i}").result
        for _ in range(3)))  # 60 > the cap of 50
    assert results == {(Result.SECOND_FACTOR,) * 3: 20}, results
    assert all(core.sessions.validate_session_token(token).valid for token in owner)
    live = core.sessions.list_user_sessions(out.user.id)
    assert sum(s.pending for s in live) == core.sessions.policy.max_pending_per_user
    assert sum(not s.pending for s in live) == 3


def test_a_right_password_counts_as_a_success_only_with_its_second_factor(make_core, alice):
    """A right password alone stays counted against the user (and the address) until
    the second factor is given: someone with only the password is throttled."""
    core = make_core(login_max_failures_per_user=3)
    (_, _, codes) = alice
    v = core.sessions.validate_session_token(
        core.accounts.log_in("alice", "correct horse", ip="1").token)
    assert core.second_factor.verify(v.session, v.user, codes[0], ip="1").ok
    # The completed log-in gave its count back: three more password-only tries, no more.
    results = [core.accounts.log_in("alice", "correct horse", ip="1").result
               for _ in range(4)]
    assert results == [Result.SECOND_FACTOR] * 3 + [Result.THROTTLED]


def pending_of(core, username="alice", password="correct horse", **kw):
    out = core.accounts.log_in(username, password, ip="1", **kw)
    return out, core.sessions.validate_session_token(out.token)


def test_a_trusted_browser_skips_only_the_code_for_30_days(core, alice, clock):
    """Issue 25, item 7: opt in on the code page; the token (hashed, in the user's own
    second-factor record) skips the code, never the password, for at most 30 days."""
    (out, _, codes) = alice
    _, v = pending_of(core)
    done = core.second_factor.verify(v.session, v.user, codes[0], ip="1", trust=True)
    assert done.ok and done.trusted_browser and len(done.trusted_browser) >= 43
    token = done.trusted_browser
    assert token not in str(core.storage.second_factors.get(out.user.id))  # only its hash
    again, _ = pending_of(core, trusted_browser=token)
    assert again.ok and core.sessions.validate_session_token(again.token).valid
    wrong = core.accounts.log_in("alice", "wrong horse", ip="1", trusted_browser=token)
    assert wrong.result is Result.INCORRECT  # never skips the password
    for other in ("", "x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B")):
        assert pending_of(core, trusted_browser=other)[0].result is Result.SECOND_FACTOR
    bob = core.accounts.sign_up("bob", "bob password!", ip="1")  # bound to alice
    core.second_factor.factors.start(bob.user.id, "bob")
    secret = core.second_factor.status(bob.user).enrolment.secret
    core.second_factor.factors.confirm(bob.user.id, code_at(secret, clock()))
    assert pending_of(core, "bob", "bob password!", trusted_browser=token)[0].result is \
        Result.SECOND_FACTOR
    clock.advance(days=30, seconds=1)
    assert pending_of(core, trusted_browser=token)[0].result is Result.SECOND_FACTOR


def test_trusted_browsers_end_with_a_new_password_or_a_changed_factor(core, alice, clock):
    (out, _, codes) = alice

    def trust(code):
        _, v = pending_of(core)
        return core.second_factor.verify(v.session, v.user, code, ip="1", trust=True
                                         ).trusted_browser

    first = trust(codes[0])
    clock.advance(seconds=1)
    second = trust(codes[1])
    assert len(core.second_factor.trusted_browsers(out.user)) == 2
    browser_id = core.second_factor.trusted_browsers(out.user)[0]["id"]  # the newest
    assert core.second_factor.forget_browser(out.session, out.user, browser_id).ok
    assert pending_of(core, trusted_browser=second)[0].result is Result.SECOND_FACTOR
    assert pending_of(core, trusted_browser=first)[0].ok
    assert core.passwords.set_password(out.user.id, "new password 1").ok
    assert pending_of(core, password="new password 1", trusted_browser=first)[0].result \
        is Result.SECOND_FACTOR
    _, v = pending_of(core, password="new password 1")
    third = core.second_factor.verify(v.session, v.user, codes[2], ip="1",
                                      trust=True).trusted_browser
    session = core.sessions.validate_session_token(
        core.accounts.log_in("alice", "new password 1", ip="1", trusted_browser=third).token
    ).session
    assert core.second_factor.disable(session, out.user).ok
    assert core.second_factor.trusted_browsers(out.user) == []


def test_a_day_of_guessing_is_capped_and_a_recovery_code_still_gets_in(make_core, alice,
                                                                      clock):
    """Issue 25, item 6: 10 wrong codes per 15 minutes allowed 960 guesses a day (65 % a
    year). A daily cap bounds it (8 a day: under 1 % a year), counted from two processes
    racing; the owner's recovery code still works while app codes are held back."""
    cores = [make_core(), make_core()]
    (_, secret, codes) = alice
    pendings = []
    for _ in range(4):
        _, v = pending_of(cores[0])
        pendings.append(v)

    def guess(i):
        core, v = cores[i % 2], pendings[i % 4]
        return core.second_factor.verify(v.session, v.user, f"{i:06d}", ip="1").result

    results = parallel(12, guess)
    assert results[Result.INCORRECT] + results[Result.ENDED] == 8, results
    assert results[Result.THROTTLED] == 4, results
    clock.advance(minutes=16)  # a new 15-minute window, the same day
    _, v = pending_of(cores[0])
    right = cores[0].second_factor.verify(v.session, v.user, code_at(secret, clock()), ip="1")
    assert right.result is Result.THROTTLED and right.retry_after > 15 * 60
    done = cores[1].second_factor.verify(v.session, v.user, codes[4], ip="1")
    assert done.ok  # the recovery code is not held back
    clock.advance(hours=24)
    _, v = pending_of(cores[0])
    assert cores[0].second_factor.verify(v.session, v.user, code_at(secret, clock()),
                                         ip="1").ok


def test_a_code_given_after_the_account_was_disabled_opens_no_session(core, alice, db):
    """The race a disable can lose: its sessions were ended, then a pending log-in is
    completed. The completion re-reads the account and ends the new session (here the
    flag is set without ending sessions, the state that race leaves)."""
    (out, _, codes) = alice
    _, v = pending_of(core)
    db.users.update_one({"_id": out.user.id}, {"$set": {"disabled_at": core.sessions.clock(),
                                                         "disabled_reason": "test"}})
    refused = core.second_factor.verify(v.session, v.user, codes[0], ip="1")
    assert not refused.ok and "operator" in refused.message
    # only the sign-up session: the completed one ended at once
    assert db.sessions.count_documents({"user_id": out.user.id, "pending": False}) == 1
