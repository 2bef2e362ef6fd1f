"""Every page of both apps as a person meets it, in headless Chromium: axe-core finds no
WCAG 2.2 AA violation, nothing scrolls sideways at 320 px, the header is one height on
every page, buttons keep their label on one line and side-by-side buttons match, and
focus lands on the error after a failed submission. Each page is checked on a desktop
(1280x800) and a phone (375x812), in the light and the dark colour scheme, logged out and
in, with errors, notices, 404, 403, 400 and 503; its screenshots go to
artifacts/screenshots/test_every_page/<page>-<viewport>-<scheme>.png."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from devtools.dbserver import free_port
from devtools.testing import start_live_system
from devtools.testing.survey import Survey, submit_without_browser_checks

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_every_page(browser, live_system, db, database_server, axe_source, screenshots,
                    tmp_path):
    started = time.monotonic()
    L, W = live_system.landing_url, live_system.web_url
    survey = Survey(axe_source, screenshots)

    # Logged out: the landing site, its forms with their errors, 404s of both apps.
    visitor = survey.context(browser).new_page()
    visitor.goto(L)
    survey.check(visitor, "landing-home")
    visitor.goto(f"{L}/signup")
    survey.check(visitor, "signup")
    visitor.fill("#username", "no spaces allowed")
    visitor.fill("#password", "correct horse battery")
    submit_without_browser_checks(visitor)
    assert visitor.get_attribute("#username", "aria-invalid") == "true"
    survey.expect_focus_on_error(visitor, "signup-error")
    survey.check(visitor, "signup-error")
    visitor.goto(f"{L}/login")
    survey.expect("any you like" not in visitor.inner_text("main"),
                  "login: the sign-up rule is shown on the log-in page")
    survey.check(visitor, "login")
    visitor.fill("#username", "nobody")
    visitor.fill("#password", "wrong password")
    submit_without_browser_checks(visitor)
    for field in ("#username", "#password"):
        survey.expect(visitor.get_attribute(field, "aria-invalid") == "true" and "form-error"
                      in (visitor.get_attribute(field, "aria-describedby") or ""),
                      f"login-error: {field} is not marked invalid and linked to the error")
    survey.expect_focus_on_error(visitor, "login-error")
    survey.check(visitor, "login-error")
    visitor.goto(f"{L}/no-such-page")
    survey.check(visitor, "landing-404")
    visitor.goto(f"{W}/no-such-page")
    survey.check(visitor, "web-404")

    # Logged in: every page of the web app, its notices and errors.
    user = survey.context(browser).new_page()
    user.goto(f"{L}/signup")
    user.fill("#username", "page-tester")
    user.fill("#password", "correct horse battery")
    user.click("main button[type=submit]")
    user.wait_for_url(f"{W}/")
    survey.expect(user.locator("main .button:not(.secondary), main button:not(.secondary)")
                  .first.inner_text() == "Manage your account",
                  "web-home: account management is not the primary action")
    survey.expect(user.locator("button:has-text('Log out')").count() == 1,
                  "web-home: Log out appears more than once")
    survey.check(user, "web-home")
    user.goto(f"{W}/account")
    survey.check(user, "account")
    user.fill("#current_password", "not my password")
    user.fill("#new_password", "a new password 1")
    user.fill("#confirm_password", "a new password 1")
    submit_without_browser_checks(user, "form[action='/account/password']")
    survey.expect_focus_on_error(user, "account-error")
    survey.check(user, "account-error")
    user.fill("#current_password", "correct horse battery")
    user.fill("#new_password", "a new password 1")
    user.fill("#confirm_password", "a new password 1")
    user.click("form[action='/account/password'] button[type=submit]")
    user.wait_for_url(re.compile(r".*done=password"))
    survey.check(user, "account-notice")
    user.goto(f"{W}/account/activity")
    survey.expect(user.locator("main time[datetime][title]").count() > 0,
                  "activity: no <time> with the exact time as its title")
    survey.check(user, "activity")
    user.goto(f"{W}/account/security")
    survey.check(user, "security")
    user.click("text=Set up an authenticator app")
    user.wait_for_url(f"{W}/account/security#enrol")
    secret = user.inner_text("#totp-secret").replace(" ", "")
    survey.check(user, "security-enrol")
    user.fill("#code", "000000")
    with user.expect_navigation():
        user.click("text=Turn it on")
    survey.expect_focus_on_error(user, "security-enrol-error")
    survey.check(user, "security-enrol-error")
    user.fill("#code", pyotp.TOTP(secret).now())
    user.click("text=Turn it on")
    user.locator("#recovery-codes").wait_for()
    survey.check(user, "recovery-codes")
    user.goto(f"{W}/account/security")
    survey.check(user, "security-on")
    user.goto(f"{W}/account/confirm?next=/account/security")
    survey.check(user, "confirm")
    user.goto(f"{W}/account")
    survey.expect(user.locator("main time[datetime][title]").count() >= 2,
                  "account: no <time> with the exact time as its title")
    survey.check(user, "account-second-factor")
    user.goto(f"{W}/no-such-page")
    survey.expect("page-tester" in user.inner_text("header"),
                  "web-404: the error page drops the signed-in header")
    survey.check(user, "web-404-signed-in")
    # 403: a form without Django's CSRF token; 400: more fields than Django accepts.
    with user.expect_navigation():
        user.evaluate("""() => { const f = document.createElement("form");
            f.method = "post"; f.action = "/logout"; document.body.append(f); f.submit(); }""")
    assert user.locator("h1").inner_text() == "Forbidden"
    survey.expect("page-tester" in user.inner_text("header"),
                  "web-403: the error page drops the signed-in header")
    survey.check(user, "web-403-signed-in")
    user.goto(f"{W}/account")
    with user.expect_navigation():
        user.evaluate("""() => {
            const f = document.querySelector("form[action='/account/password']");
            for (let i = 0; i < 60; i++) { const x = document.createElement("input");
              x.type = "hidden"; x.name = "x" + i; f.append(x); }
            f.noValidate = true; f.submit(); }""")
    assert user.locator("h1").inner_text() == "Bad request"
    survey.check(user, "web-400-signed-in")
    user.goto(f"{L}/no-such-page")
    survey.check(user, "landing-404-signed-in")

    # Half logged in: the password was right, the second factor is asked for.
    pending = survey.context(browser).new_page()
    pending.goto(f"{L}/login")
    pending.fill("#username", "page-tester")
    pending.fill("#password", "a new password 1")
    pending.click("main button[type=submit]")
    pending.wait_for_url(re.compile(re.escape(f"{L}/login/verify")))
    survey.check(pending, "verify")
    pending.fill("#code", "000000")
    with pending.expect_navigation():
        pending.click("main button[type=submit]")
    survey.expect_focus_on_error(pending, "verify-error")
    survey.check(pending, "verify-error")

    # 503: a second pair of apps whose database never answers (the suite's stays up).
    down, procs = start_live_system(f"mongodb://127.0.0.1:{free_port()}/down"
                                    "?retryWrites=false&directConnection=true", tmp_path,
                                    ready_path="/static/style.css")
    try:
        outage = survey.context(browser)
        for url in (down.landing_url, down.web_url):  # a session cookie must be looked up
            outage.add_cookies([{"name": "auth_session", "value": "A" * 43, "url": url}])
        page = outage.new_page()
        response = page.goto(down.landing_url)
        assert response.status == 503
        survey.expect(page.locator("main a:has-text('Try again')").count() == 1
                      and page.locator("a:has-text('Log in')").count() == 0,
                      "landing-503: no Try again, or a Log in link that also answers 503")
        survey.check(page, "landing-503")
        assert page.goto(f"{down.web_url}/account").status == 503
        survey.check(page, "web-503")
    finally:
        for proc in procs:
            proc.stop()

    print(survey.report())
    print(f"{len(survey.shots)} screenshots in {screenshots}; "
          f"{time.monotonic() - started:.1f} s")
    failures = survey.failures()
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)
