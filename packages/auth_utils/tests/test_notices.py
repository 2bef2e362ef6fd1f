"""Issue 24, item 4: security notices, decided in one place (auth_utils.services.notices), mailed to
the verified address over a real SMTP server and shown in the web app on the next visit;
a message never carries a secret."""

from __future__ import annotations

import json

import pyotp

from auth_utils.services.activity import Kind
from auth_utils.services.notices import NOTICES
from devtools.testing import WEB, SoftAuthenticator, core_user_with_address, wait_for

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36")


def subjects(smtp, address: str = "alice@example.com") -> list[str]:
    return [r.message["Subject"] for r in list(smtp.received) if address in r.rcpt_tos]


def wait_subject(smtp, words: str, address: str = "alice@example.com") -> bool:
    return wait_for(lambda: any(words in s for s in subjects(smtp, address)), 10)


def test_each_change_to_the_account_mails_a_notice(mail_core, smtp_server, clock):
    core = mail_core()
    out = core_user_with_address(core, smtp_server)
    assert core.passwords.change_password(out.user, "correct horse", "changed it 123",
                                         "changed it 123", ip="1",
                                         keep_session_id=out.session.id).ok
    enrolment = core.second_factor.factors.start(out.user.id, "alice")
    fresh, codes = core.second_factor.confirm(out.session, out.user,
                                              pyotp.TOTP(enrolment.secret).at(clock()))
    session = fresh.session
    core.second_factor.regenerate_recovery_codes(session, out.user)
    device = SoftAuthenticator(origin=WEB)
    options = core.passkeys.passkeys.registration_options(out.user.id, "alice")
    assert core.passkeys.add(session, out.user, json.dumps(device.register(options)),
                             "phone").ok
    passkey = core.passkeys.for_user(out.user.id)[0]
    assert core.passkeys.remove(session, out.user, passkey.id).ok
    assert core.second_factor.disable(session, out.user).ok
    for kind in (Kind.EMAIL_VERIFIED, Kind.PASSWORD_CHANGED, Kind.SECOND_FACTOR_ON,
                 Kind.RECOVERY_CODES_REGENERATED, Kind.PASSKEY_ADDED, Kind.PASSKEY_REMOVED,
                 Kind.SECOND_FACTOR_OFF):
        assert wait_subject(smtp_server, NOTICES[kind].subject), kind
    # A message names what happened and where, never a secret.
    for received in smtp_server.received:
        raw = received.raw.decode(errors="replace")
        assert enrolment.secret not in raw and not any(code in raw for code in codes)
        assert out.token not in raw and session.id not in raw


def test_a_new_browser_and_a_log_in_after_failures_are_told(mail_core, smtp_server, clock):
    core = mail_core()
    core_user_with_address(core, smtp_server)  # with Firefox/130.0
    clock.advance(seconds=1)
    assert core.accounts.log_in("alice", "correct horse", ip="1", user_agent="Firefox/130.0")
    assert core.accounts.log_in("alice", "correct horse", ip="1", user_agent=CHROME_WINDOWS).ok
    assert wait_subject(smtp_server, "New log-in")
    news = [r for r in smtp_server.received if "New log-in" in r.message["Subject"]]
    assert len(news) == 1 and "Chrome on Windows" in news[0].message.get_body(
        ("plain",)).get_content()
    clock.advance(seconds=1)
    for _ in range(3):
        assert not core.accounts.log_in("alice", "wrong horse", ip="1").ok
    clock.advance(seconds=1)
    assert core.accounts.log_in("alice", "correct horse", ip="1", user_agent=CHROME_WINDOWS).ok
    assert wait_subject(smtp_server, "after failed attempts")
    body = next(r for r in smtp_server.received if "after failed" in r.message["Subject"])
    assert "3 failed attempts" in body.message.get_body(("plain",)).get_content()
    clock.advance(seconds=1)  # the next log-in: those failures were told already
    assert core.accounts.log_in("alice", "correct horse", ip="1", user_agent=CHROME_WINDOWS).ok
    core.outbox.wakeup.set()
    assert wait_for(lambda: core.outbox.counts()["pending"] == 0)
    assert sum("after failed" in s for s in subjects(smtp_server)) == 1


def test_the_same_browser_again_is_not_new(mail_core, smtp_server):
    core = mail_core()
    core_user_with_address(core, smtp_server)
    for _ in range(3):
        assert core.accounts.log_in("alice", "correct horse", ip="1",
                                    user_agent="Firefox/130.0").ok
    core.outbox.wakeup.set()
    assert wait_for(lambda: core.outbox.counts()["pending"] == 0)
    assert not any("New log-in" in s for s in subjects(smtp_server))


def test_disabling_and_deleting_the_account_tell_its_address(mail_core, smtp_server):
    core = mail_core()
    out = core_user_with_address(core, smtp_server)
    core.lifecycle.disable(out.user, "abuse")
    assert wait_subject(smtp_server, "account was disabled")
    core.lifecycle.enable(core.storage.users.by_id(out.user.id))
    core.lifecycle.delete(out.user, by="an operator")
    assert wait_subject(smtp_server, "account was deleted")
    deleted = next(r for r in smtp_server.received if "deleted" in r.message["Subject"])
    assert "alice" not in deleted.message.get_body(("plain",)).get_content()  # no name kept


def test_in_the_web_app_changes_made_elsewhere_are_shown_once(core, clock):
    here = core.accounts.sign_up("alice", "correct horse", ip="1")
    clock.advance(seconds=1)
    elsewhere = core.accounts.log_in("alice", "correct horse", ip="2")
    assert core.passwords.change_password(here.user, "correct horse", "changed here 1",
                                         "changed here 1", ip="1",
                                         keep_session_id=here.session.id).ok
    # What this session did itself is not news to it.
    failed, changes = core.accounts.unseen_notices(here.user.id, here.session.id)
    assert (failed, [e.kind for e in changes]) == (0, [])
    clock.advance(seconds=1)
    third = core.accounts.log_in("alice", "changed here 1", ip="3")
    assert core.passwords.change_password(third.user, "changed here 1", "changed there 2",
                                         "changed there 2", ip="3",
                                         keep_session_id=third.session.id).ok
    core.accounts.log_in("alice", "wrong horse", ip="4")
    failed, changes = core.accounts.unseen_notices(here.user.id, here.session.id)
    assert failed == 1 and [e.kind for e in changes] == [Kind.PASSWORD_CHANGED]
    assert core.accounts.unseen_notices(here.user.id, here.session.id) == (0, [])
    assert elsewhere.ok


def test_a_users_own_typo_is_recorded_as_such_and_not_news_to_its_session(core, clock, db):
    """Issue 27, item 4: a wrong current password on the change form is a failed
    re-authentication (counted like a failed log-in), not an alarm in the session that
    typed it; the same typo in another session (a thief's) is shown."""
    mine = core.accounts.sign_up("alice", "correct horse", ip="1")
    other = core.accounts.log_in("alice", "correct horse", ip="2")
    clock.advance(seconds=1)
    refused = core.passwords.change_password(mine.user, "wrong horse", "new password 1",
                                            "new password 1", ip="1",
                                            keep_session_id=mine.session.id)
    assert refused.result.value == "incorrect"
    assert db.security_events.find_one({"kind": "reauth_failed"})["detail"] == \
        "wrong password when changing it"
    assert core.accounts.unseen_notices(mine.user.id, mine.session.id) == (0, [])
    core.passwords.change_password(mine.user, "wrong horse", "new password 1",
                                  "new password 1", ip="2", keep_session_id=other.session.id)
    failed, _ = core.accounts.unseen_notices(mine.user.id, mine.session.id)
    assert failed == 1  # typed in the other session: shown here
