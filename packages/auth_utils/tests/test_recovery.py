"""Issue 24: password reset by a mailed link, and by an operator's link, on the real
database and a real SMTP server. The token is single use (of 8 racing submissions exactly
one wins), 30 minutes, void once a newer one is issued or the password changes; the
second factor is still asked; success ends every session; requests are throttled per
client and per name or address, the same way whether or not anyone has it."""

from __future__ import annotations

import pyotp
import pytest

from auth_utils import Result
from auth_utils.services.activity import Kind
from devtools.testing import (
    core_user_with_address,
    link_token,
    mail_to,
    mailed_link,
    parallel,
    wait_for,
)

NEW = "a brand new passphrase"


def reset_link(core, smtp, asked: str, address: str, count: int = 1) -> str:
    """Ask for a reset of `asked` and return the link mailed to `address` (the `count`th)."""
    assert core.recovery.request_reset(asked, ip="198.51.100.9").ok
    assert core.recovery.background.join()
    assert len(mail_to(smtp, address, subject="Reset your password", count=count)) >= count
    return mailed_link(smtp, address, "/password/reset/")


def test_a_mailed_link_resets_the_password_once_and_ends_every_session(mail_core, smtp_server,
                                                                       db):
    core = mail_core()
    out = core_user_with_address(core, smtp_server)
    other = core.accounts.log_in("alice", "correct horse", ip="2")
    link = reset_link(core, smtp_server, "alice@example.com", "alice@example.com")
    token = link_token(link)
    assert link.startswith(core.settings.landing_url + "/password/reset/")
    assert db.users.find_one({"username": "alice"})["reset_token"] != token  # only a hash

    assert core.recovery.open_link(token).username == "alice"
    assert core.recovery.reset_password(token, NEW, NEW, ip="3").ok
    for session in (out, other):
        assert not core.sessions.validate_session_token(session.token).valid
    assert core.accounts.log_in("alice", NEW, ip="4").ok
    assert not core.accounts.log_in("alice", "correct horse", ip="4").ok
    again = core.recovery.reset_password(token, "another new one 9", "another new one 9",
                                         ip="3")
    assert again.result is Result.ENDED  # used up
    kinds = [e["kind"] for e in db.security_events.find({"username": "alice"})]
    assert Kind.PASSWORD_RESET_REQUESTED in kinds and Kind.PASSWORD_RESET in kinds
    assert mail_to(smtp_server, "alice@example.com", subject="Your password was reset")


def test_eight_racing_submissions_of_one_link_exactly_one_succeeds(mail_core, smtp_server):
    core = mail_core(hashing_max_per_client=8)
    core_user_with_address(core, smtp_server)
    token = link_token(reset_link(core, smtp_server, "alice", "alice@example.com"))
    results = parallel(8, lambda i: core.recovery.reset_password(
        token, f"racing password {i}", f"racing password {i}", ip=f"10.0.0.{i}").result)
    assert results == {Result.OK: 1, Result.ENDED: 7}, results


def test_a_newer_link_a_password_change_or_30_minutes_void_the_link(mail_core, smtp_server,
                                                                     clock):
    core = mail_core()
    out = core_user_with_address(core, smtp_server)
    first = link_token(reset_link(core, smtp_server, "alice", "alice@example.com"))
    second = link_token(reset_link(core, smtp_server, "alice", "alice@example.com", count=2))
    assert first != second
    assert core.recovery.open_link(first) is None  # superseded
    assert core.recovery.reset_password(first, NEW, NEW, ip="1").result is Result.ENDED

    core.passwords.change_password(out.user, "correct horse", "changed by me 1",
                                  "changed by me 1", ip="1", keep_session_id=out.session.id)
    assert core.recovery.open_link(second) is None  # the password changed

    third = link_token(reset_link(core, smtp_server, "alice", "alice@example.com", count=3))
    clock.advance(minutes=31)
    assert core.recovery.open_link(third) is None
    assert core.recovery.reset_password(third, NEW, NEW, ip="1").result is Result.ENDED


@pytest.mark.parametrize("token", ["", "x", "a" * 43, "a" * 44, "../../etc", "é" * 43])
def test_junk_tokens_are_invalid_links(core, token):
    assert core.recovery.open_link(token) is None
    assert core.recovery.reset_password(token, NEW, NEW, ip="1").result is Result.ENDED


def test_the_second_factor_is_still_asked(mail_core, smtp_server, clock):
    core = mail_core()
    out = core_user_with_address(core, smtp_server)
    enrolment = core.second_factor.factors.start(out.user.id, "alice")
    _, codes = core.second_factor.confirm(out.session, out.user,
                                          pyotp.TOTP(enrolment.secret).at(clock()))
    token = link_token(reset_link(core, smtp_server, "alice", "alice@example.com"))
    user = core.recovery.open_link(token)
    assert core.recovery.needs_code(user)
    missing = core.recovery.reset_password(token, NEW, NEW, ip="1")
    assert missing.result is Result.INVALID and missing.field == "code"
    wrong = core.recovery.reset_password(token, NEW, NEW, "000000", ip="1")
    assert wrong.result is Result.INCORRECT and wrong.field == "code"
    assert core.recovery.open_link(token) is not None  # a wrong code keeps the link
    clock.advance(seconds=31)
    code = pyotp.TOTP(enrolment.secret).at(clock())
    assert core.recovery.reset_password(token, NEW, NEW, code, ip="1").ok
    # A recovery code works too (with a new link), and is used up.
    token = link_token(reset_link(core, smtp_server, "alice", "alice@example.com", count=2))
    assert core.recovery.reset_password(token, "newer still 42", "newer still 42", codes[0],
                                        ip="1").ok
    token = link_token(reset_link(core, smtp_server, "alice", "alice@example.com", count=3))
    assert core.recovery.reset_password(token, "newer still 43", "newer still 43", codes[0],
                                        ip="1").result is Result.INCORRECT


def test_the_same_answer_for_real_and_unknown_names_and_addresses(mail_core, smtp_server):
    core = mail_core()
    core_user_with_address(core, smtp_server)
    core.accounts.sign_up("bob", "correct horse", ip="1")  # no address: nothing to send to
    answers = {asked: core.recovery.request_reset(asked, ip="198.51.100.1")
               for asked in ("alice", "alice@example.com", "nobody", "nobody@example.com",
                             "bob", "not an address@")}
    assert {(o.result, o.message, o.field) for o in answers.values()} == {(Result.OK, "",
                                                                           None)}
    assert core.recovery.background.join()
    assert len(mail_to(smtp_server, "alice@example.com", subject="Reset", count=2)) == 2
    assert wait_for(lambda: core.outbox.counts()["pending"] == 0)  # nothing else queued
    resets = [r for r in smtp_server.received if "Reset" in r.message["Subject"]]
    assert [r.rcpt_tos for r in resets] == [("alice@example.com",)] * 2


def test_requests_are_throttled_per_client_and_per_name_whether_or_not_it_exists(make_core):
    core = make_core(reset_max_per_ip=6, reset_max_per_account=2)
    for asked in ("alice", "nobody-at-all"):
        results = [core.recovery.request_reset(asked, ip=f"203.0.113.{i}").result
                   for i in range(3)]
        assert results == [Result.OK, Result.OK, Result.THROTTLED]
    # Names differ in case only: the same name.
    assert core.recovery.request_reset("NOBODY-at-all", ip="203.0.113.9").result is \
        Result.THROTTLED
    results = [core.recovery.request_reset(f"name{i}", ip="198.51.100.7").result
               for i in range(7)]
    assert results[:6] == [Result.OK] * 6 and results[6] is Result.THROTTLED
    refused = core.recovery.request_reset("name99", ip="198.51.100.7")
    assert refused.retry_after and refused.retry_after <= 3600


def test_requests_raced_from_one_client_are_counted_exactly(make_core):
    core = make_core(reset_max_per_ip=5, reset_max_per_account=1000)
    results = parallel(20, lambda i: core.recovery.request_reset(f"racer{i}",
                                                                 ip="192.0.2.50").result)
    assert results[Result.OK] == 5 and results[Result.THROTTLED] == 15, results


def test_the_operators_link_follows_the_same_rules(core, db):
    out = core.accounts.sign_up("carol", "correct horse", ip="1")
    link = core.recovery.link_for_operator("Carol")
    assert link is not None and core.recovery.link_for_operator("nobody") is None
    token = link_token(link)
    newer = link_token(core.recovery.link_for_operator("carol"))
    assert core.recovery.open_link(token) is None  # replaced
    assert core.recovery.reset_password(newer, NEW, NEW, ip="1").ok
    assert not core.sessions.validate_session_token(out.token).valid


def test_a_disabled_account_gets_no_link_and_its_link_stops_working(mail_core, smtp_server):
    core = mail_core()
    out = core_user_with_address(core, smtp_server)
    token = link_token(reset_link(core, smtp_server, "alice", "alice@example.com"))
    core.lifecycle.disable(out.user, "abuse")
    assert core.recovery.open_link(token) is None
    assert core.recovery.reset_password(token, NEW, NEW, ip="1").result is Result.ENDED
    assert core.recovery.request_reset("alice", ip="1").ok
    assert core.recovery.background.join()
    assert len(mail_to(smtp_server, "alice@example.com", subject="Reset your password",
                       timeout=0.5)) == 1
