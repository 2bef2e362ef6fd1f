"""Issue 24, item 1: an optional e-mail address, counted once verified by a single-use
link; a verified address belongs to one account (the unique index decides, also under a
race), an unverified one blocks nobody; changing or removing it needs a recent
re-authentication and tells the old address."""

from __future__ import annotations

import pytest

from auth_utils import Result
from auth_utils.rules.emails import parse_address
from devtools.testing import core_user_with_address, link_token, mail_to, mailed_link, parallel


def verify_link(smtp, address: str, count: int = 1) -> str:
    mail_to(smtp, address, subject="Verify", count=count)
    return link_token(mailed_link(smtp, address, "/email/verify/"))


@pytest.mark.parametrize(("raw", "ok"), [
    ("Bob@Example.COM", "bob@example.com"), ("bob@bücher.de", "bob@bücher.de"),
    ("  alice@example.org ", "alice@example.org"), ("x@y", None), ("nope", None),
    ("a@[127.0.0.1]", None), ('"quoted"@example.com', None), ("a" * 250 + "@ex.com", None),
    ("", None), ("a@b@c.com", None), ("alice@example.com\r\nBcc: x@y.com", None)])
def test_addresses_are_checked_by_syntax_with_international_domains(raw, ok):
    parsed = parse_address(raw)
    if ok is None:
        assert isinstance(parsed, str) and parsed  # a message saying what is wrong
    else:
        assert parsed.key == ok


def test_an_address_counts_only_once_verified_and_the_link_works_once(mail_core, smtp_server,
                                                                      db):
    core = mail_core()
    out = core.accounts.sign_up("alice", "correct horse", ip="1", email="Alice@Example.com")
    record = core.email.of(out.user.id)
    assert record.email is None and record.pending_email == "Alice@example.com"
    token = verify_link(smtp_server, "Alice@example.com")
    stored = db.users.find_one({"_id": out.user.id})
    assert stored["email_token"] != token and "email_key" not in stored  # hash; unverified
    assert core.email.open_link(token).username == "alice"
    assert core.email.verify(token).ok
    record = core.email.of(out.user.id)
    assert record.email == "Alice@example.com" and record.pending_email is None
    assert core.email.verify(token).result is Result.ENDED


def test_an_invalid_address_at_sign_up_creates_no_account(core, db):
    out = core.accounts.sign_up("alice", "correct horse", ip="1", email="not an address")
    assert out.result is Result.INVALID and out.field == "email"
    assert db.users.count_documents({}) == 0


def test_a_verified_address_belongs_to_one_account_an_unverified_one_to_nobody(
        mail_core, smtp_server):
    core = mail_core()
    core.accounts.sign_up("alice", "correct horse", ip="1", email="shared@example.com")
    core.accounts.sign_up("bob", "correct horse", ip="2", email="SHARED@example.com")
    links = [link_token(link) for link in (mailed_link(smtp_server, "shared@example.com",
                                                     "/email/verify/"),
                                         mailed_link(smtp_server, "SHARED@example.com",
                                                     "/email/verify/"))]
    # Both wait for verification at once: neither blocks the other. Raced, one wins.
    results = parallel(2, lambda i: core.email.verify(links[i]).result)
    assert results == {Result.OK: 1, Result.TAKEN: 1}, results


def test_changing_the_address_needs_reauthentication_and_tells_the_old_one(
        mail_core, smtp_server, clock):
    core = mail_core()
    out = core_user_with_address(core, smtp_server)
    clock.advance(minutes=11)  # the sign-up's log-in is no longer recent
    assert core.email.add(out.session, out.user, "new@example.com").result is Result.REAUTH
    assert core.email.remove(out.session, out.user).result is Result.REAUTH
    assert core.passwords.reauthenticate(out.session, out.user, "correct horse", "",
                                        ip="1").ok
    session = core.sessions.validate_session_token(out.token).session
    assert core.email.add(session, out.user, "new@example.com").ok
    assert core.email.of(out.user.id).email == "alice@example.com"  # until verified
    assert core.email.verify(verify_link(smtp_server, "new@example.com")).ok
    assert core.email.of(out.user.id).email == "new@example.com"
    assert mail_to(smtp_server, "alice@example.com", subject="email address was changed")
    assert mail_to(smtp_server, "new@example.com", subject="email address was changed")
    assert core.email.remove(session, out.user).ok
    assert core.email.of(out.user.id).email is None
    assert mail_to(smtp_server, "new@example.com", subject="email address was removed")


def test_verification_mails_are_throttled_per_account(mail_core, smtp_server):
    core = mail_core(reset_max_per_account=2)
    out = core.accounts.sign_up("alice", "correct horse", ip="1")
    results = [core.email.add(out.session, out.user, f"a{i}@example.com").result
               for i in range(3)]
    assert results == [Result.OK, Result.OK, Result.THROTTLED]


def test_with_mail_off_no_address_is_taken(make_core):
    core = make_core(mail=False)
    out = core.accounts.sign_up("alice", "correct horse", ip="1", email="a@example.com")
    assert out.ok and core.email.of(out.user.id).pending_email is None
    assert core.email.add(out.session, out.user, "a@example.com").result is Result.INVALID
