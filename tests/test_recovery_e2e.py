"""Issue 24 over HTTP: both apps as real processes mailing to a real SMTP server
(aiosmtpd on a socket). An address given at sign-up or in /account counts once its mailed
link is followed; "Forgot your password?" mails a single-use link that ends every session
of the user in both apps; the second factor is still asked; the answer to a request is the
same for real and unknown names and addresses; requests are throttled (429, Retry-After)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devtools.testing import (
    csrf_token,
    enrol_totp,
    mail_to,
    mailed_link,
    next_step_code,
    post,
    sign_up_with_address,
)

pytestmark = pytest.mark.e2e

NEW = "a brand new passphrase"
LINK_ENDED = "This reset link is no longer valid"


def client() -> httpx.Client:
    return httpx.Client(follow_redirects=False, timeout=10)


def ask_reset(c: httpx.Client, L: str, asked: str) -> httpx.Response:
    return post(c, f"{L}/password/reset", {"identifier": asked}, L)


def logged_in_everywhere(c: httpx.Client, L: str, W: str) -> bool:
    """The web app shows the home page and the landing app sends the visitor there."""
    return c.get(f"{W}/").status_code == 200 and c.get(f"{L}/").status_code == 303


def logged_out_everywhere(c: httpx.Client, L: str, W: str) -> bool:
    web, landing = c.get(f"{W}/"), c.get(f"{L}/")
    return (web.status_code == 302 and "/login?next=" in web.headers["location"]
            and landing.status_code == 200)


def test_an_address_given_at_sign_up_counts_once_its_link_is_followed(mail_system,
                                                                     live_smtp_server, db):
    L, W, smtp = mail_system.landing_url, mail_system.web_url, live_smtp_server
    address = "signup-verify@example.com"
    with client() as me, client() as stranger:
        r = post(me, f"{L}/signup", {"username": "verifier", "password": "correct horse",
                                     "email": address}, L)
        assert r.status_code == 303 and r.headers["location"] == W
        assert "Waiting for verification: signup-verify@example.com" in me.get(
            f"{W}/account").text
        link = mailed_link(smtp, address, "/email/verify/")
        assert link.startswith(f"{L}/email/verify/")
        token = link.rsplit("/", 1)[1]
        assert token not in str(db.users.find_one({"username": "verifier"}))  # only a hash

        # Opening the link (a mail scanner would) shows what it confirms and changes nothing.
        page = stranger.get(link)
        assert page.status_code == 200
        assert address in page.text and "verifier" in page.text
        assert page.headers["referrer-policy"] == "strict-origin"  # never the path
        assert "No verified address" in me.get(f"{W}/account").text

        done = post(stranger, link, {}, L)
        assert done.status_code == 200 and "is now the verified address" in done.text
        assert f"Verified: <strong>{address}</strong>" in me.get(f"{W}/account").text
        again = post(stranger, link, {}, L)
        assert again.status_code == 400 and "no longer" in again.text
        assert stranger.get(link).status_code == 400
    assert mail_to(smtp, address, subject="Your email address was verified")


@pytest.mark.parametrize("by", ["username", "address"])
def test_forgot_password_mails_a_link_that_ends_every_session_in_both_apps(
        mail_system, live_smtp_server, db, by):
    L, W, smtp = mail_system.landing_url, mail_system.web_url, live_smtp_server
    name, address = f"forgetful-{by}", f"forgetful-{by}@example.com"
    with client() as first, client() as second, client() as locked_out:
        sign_up_with_address(first, mail_system, smtp, name, address)
        assert post(second, f"{L}/login", {"username": name, "password": "correct horse"},
                    L).status_code == 303
        assert logged_in_everywhere(first, L, W) and logged_in_everywhere(second, L, W)

        login = locked_out.get(f"{L}/login")
        assert '<a href="/password/reset">Forgot your password?</a>' in login.text
        assert locked_out.get(f"{L}/password/reset").status_code == 200
        r = ask_reset(locked_out, L, name if by == "username" else address.upper())
        assert r.status_code == 200 and "a link is on its way" in r.text
        link = mailed_link(smtp, address, "/password/reset/")
        assert link.startswith(f"{L}/password/reset/")

        page = locked_out.get(link)
        assert page.status_code == 200 and name in page.text
        assert page.headers["referrer-policy"] == "strict-origin"  # never the path
        assert page.headers["cache-control"] == "no-store"
        assert 'name="code"' not in page.text  # no second factor on this account
        mismatch = post(locked_out, link, {"new_password": NEW, "confirm_password": "other"},
                        L)
        assert mismatch.status_code == 400 and "do not match" in mismatch.text

        r = post(locked_out, link, {"new_password": NEW, "confirm_password": NEW}, L)
        assert r.status_code == 303 and r.headers["location"] == "/login?done=reset"
        # Right after the answer: no session of the user is accepted by either app.
        assert logged_out_everywhere(first, L, W)
        assert logged_out_everywhere(second, L, W)
        assert "every session was logged out" in locked_out.get(
            f"{L}{r.headers['location']}").text

        # The link works once.
        used = post(locked_out, link, {"new_password": "yet another one 7",
                                       "confirm_password": "yet another one 7"}, L)
        assert used.status_code == 400 and LINK_ENDED in used.text
        assert locked_out.get(link).status_code == 400

        assert post(locked_out, f"{L}/login", {"username": name, "password": "correct horse"},
                    L).status_code != 303
        assert post(locked_out, f"{L}/login", {"username": name, "password": NEW},
                    L).status_code == 303
        account = locked_out.get(f"{W}/account").text
        assert 'id="account-changes"' in account and "Password reset by link" in account
    assert mail_to(smtp, address, subject="Your password was reset")


def test_with_a_second_factor_the_reset_page_asks_for_the_code(mail_system, live_smtp_server,
                                                               db):
    L, W, smtp = mail_system.landing_url, mail_system.web_url, live_smtp_server
    address = "two-step@example.com"
    with client() as me, client() as locked_out:
        sign_up_with_address(me, mail_system, smtp, "two-step", address)
        secret, _ = enrol_totp(me, W)
        assert ask_reset(locked_out, L, "two-step").status_code == 200
        link = mailed_link(smtp, address, "/password/reset/")
        page = locked_out.get(link)
        assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.text

        form = {"new_password": NEW, "confirm_password": NEW}
        missing = post(locked_out, link, form, L)
        assert missing.status_code == 400 and 'id="code-error"' in missing.text
        wrong = post(locked_out, link, {**form, "code": "000000"}, L)
        assert wrong.status_code == 400 and 'id="code-error"' in wrong.text
        assert locked_out.get(link).status_code == 200  # a wrong code keeps the link
        assert logged_in_everywhere(me, L, W)

        r = post(locked_out, link, {**form, "code": next_step_code(secret)}, L)
        assert r.status_code == 303 and r.headers["location"] == "/login?done=reset"
        assert logged_out_everywhere(me, L, W)
        # The new password is still only half of a log-in.
        r = post(locked_out, f"{L}/login", {"username": "two-step", "password": NEW}, L)
        assert r.status_code == 303 and r.headers["location"].startswith("/login/verify")


def age_reauthentication(db, seconds_cached: float = 1.5) -> None:
    """Make every complete session's last password entry 11 minutes old (past the ten of
    the re-authentication rule), then wait out the session cache (1 s in mail_system)."""
    db.sessions.update_many({"pending": False}, {"$set": {
        "verified_at": datetime.now(UTC) - timedelta(minutes=11)}})
    time.sleep(seconds_cached)


def test_account_address_added_changed_and_removed_after_reauthentication(
        mail_system, live_smtp_server, db):
    L, W, smtp = mail_system.landing_url, mail_system.web_url, live_smtp_server
    old, new = "first-address@example.com", "second-address@example.com"

    def form(path: str, **fields: str) -> httpx.Response:
        token = csrf_token(me, f"{W}/account")
        return post(me, f"{W}{path}", {"csrfmiddlewaretoken": token, **fields}, W)

    def confirm() -> None:
        r = form("/account/confirm", password="correct horse", next="/account")
        assert r.status_code == 303 and r.headers["location"] == "/account?done=confirmed"

    def follow(address: str) -> None:
        assert post(me, mailed_link(smtp, address, "/email/verify/"), {}, L).status_code == 200

    with client() as me:
        assert post(me, f"{L}/signup", {"username": "mover", "password": "correct horse"},
                    L).status_code == 303
        age_reauthentication(db)
        r = form("/account/email", email=old)
        assert r.status_code == 303
        assert r.headers["location"] == "/account/confirm?next=%2Faccount"
        assert not mail_to(smtp, old, timeout=0.5)  # nothing sent before the password
        confirm()
        r = form("/account/email", email=old)
        assert r.status_code == 303 and r.headers["location"] == "/account?done=email"
        follow(old)
        assert f"Verified: <strong>{old}</strong>" in me.get(f"{W}/account").text

        r = form("/account/email", email=new)  # within the ten minutes: no new password
        assert r.status_code == 303 and r.headers["location"] == "/account?done=email"
        assert f"Verified: <strong>{old}</strong>" in me.get(f"{W}/account").text
        follow(new)
        page = me.get(f"{W}/account").text
        assert f"Verified: <strong>{new}</strong>" in page
        assert mail_to(smtp, old, subject="Your email address was changed")  # the old one

        age_reauthentication(db)
        r = form("/account/email/remove")
        assert r.status_code == 303 and r.headers["location"].startswith("/account/confirm")
        confirm()
        r = form("/account/email/remove")
        assert r.status_code == 303 and r.headers["location"] == "/account?done=email-removed"
        assert "No verified address" in me.get(f"{W}/account").text
    assert mail_to(smtp, new, subject="Your email address was removed")
    assert db.users.find_one({"username": "mover"}).get("email") in (None, "")


def test_the_same_answer_for_real_and_unknown_names_and_addresses(mail_system,
                                                                  live_smtp_server, db):
    L, smtp = mail_system.landing_url, live_smtp_server
    with client() as owner:
        sign_up_with_address(owner, mail_system, smtp, "known-name", "known@example.com")
        assert post(owner, f"{L}/signup", {"username": "no-address",
                                           "password": "correct horse"}, L).status_code == 303
    answers = {}
    with client() as visitor:
        for asked in ("known-name", "unknown-name", "known@example.com",
                      "unknown@example.com", "no-address", "KNOWN@example.com"):
            r = ask_reset(visitor, L, asked)
            answers[asked] = (r.status_code, r.text, tuple(r.headers.get_list("set-cookie")))
    assert len(set(answers.values())) == 1, {k: v[0] for k, v in answers.items()}
    assert answers["known-name"][0] == 200 and "csrf" not in answers["known-name"][1].lower()
    # Only the account with a verified address got anything: three links.
    assert len(mail_to(smtp, "known@example.com", subject="Reset your password",
                       count=3)) == 3
    assert not [r for r in smtp.received if "unknown@example.com" in r.rcpt_tos]


def test_over_the_limit_per_name_or_address_a_request_gets_429_and_retry_after(
        mail_system, live_smtp_server, db):
    """RESET_MAX_PER_ACCOUNT=3 (mail_system): the fourth request for one name or address
    in the hour is refused the same way whether or not it exists; others still pass."""
    L, smtp = mail_system.landing_url, live_smtp_server
    address = "limited@example.com"
    with client() as owner:
        sign_up_with_address(owner, mail_system, smtp, "limited", address)
    refused = {}
    with client() as visitor:
        for asked in (address, "unknown-limited@example.com", "limited", "unknown-limited"):
            assert [ask_reset(visitor, L, asked).status_code for _ in range(3)] == [200] * 3
            r = ask_reset(visitor, L, asked)
            assert r.status_code == 429, (asked, r.status_code)
            assert 0 < int(r.headers["retry-after"]) <= 3600
            refused[asked] = (r.status_code, r.text.replace(asked, "ASKED"))  # refilled
            assert ask_reset(visitor, L, asked.upper()).status_code == 429  # case: same
        assert ask_reset(visitor, L, "someone-else").status_code == 200
    assert len(set(refused.values())) == 1
    # Three links by address and three by name: the refused requests sent nothing.
    assert len(mail_to(smtp, address, subject="Reset your password", count=6)) == 6
    assert len(mail_to(smtp, address, subject="Reset your password", count=7,
                       timeout=3)) == 6


def test_a_request_costs_the_same_for_known_and_unknown_names_and_addresses(
        unthrottled_mail_system, live_smtp_server, db):
    """60 interleaved samples each (devtools.bench.enumeration, also `uv run bench`
    section 11): the same status and body, and medians within 2x of each other (the goal,
    1.2x, is the benchmark's: a shared 2-core machine is too noisy to assert it; 2x still
    catches work on the request path, e.g. a synchronous SMTP send or a token write). Every
    known request did its work after the answer: one link mailed each (measure waits for
    it before the next sample)."""
    from devtools.bench.enumeration import KNOWN, measure, prepare

    L, smtp = unthrottled_mail_system.landing_url, live_smtp_server
    prepare(L, smtp, "correct horse")
    timings = measure(L, smtp, samples=60)
    for timing in timings:
        print(timing.row())
    for timing in timings:
        assert [status for status, _ in timing.answers] == [200], timing.row()
        assert timing.ratio < 2.0, timing.row()
    assert len({body for t in timings for _, body in t.answers}) == 1
    asked = sum(len(t.known_ms) for t in timings) + 4  # and the warm-up's
    assert len(mail_to(smtp, KNOWN[1], subject="Reset your password", count=asked)) == asked
    assert len(mail_to(smtp, KNOWN[1], subject="Reset your password", count=asked + 1,
                       timeout=2)) == asked
