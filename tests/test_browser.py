"""The visitor's journey in headless Chromium: typing into forms and clicking."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from devtools.testing import (
    CHROMIUM_ARGS,
    enrol_totp,
    mailed_link,
    sign_up_with_address,
    start_live_system,
)
from devtools.testing.survey import Survey

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def shoot(page, folder, name):
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_signup_logout_login_journey(browser, live_system, db, screenshots):
    L, W = live_system.landing_url, live_system.web_url
    started = time.monotonic()
    page = browser.new_page()
    page.goto(L)
    assert page.title().startswith("One login for all your apps")
    shoot(page, screenshots, "01-landing")

    page.click("text=Create an account")
    page.fill("#username", "Alice")
    page.fill("#password", "short")
    page.click("button[type=submit]")  # the browser's own check stops a short password
    assert page.url == f"{L}/signup"
    page.fill("#password", "correct horse battery")
    shoot(page, screenshots, "02-signup-form")
    page.click("button[type=submit]")
    page.wait_for_url(f"{W}/")
    assert page.locator("h1").inner_text() == "Hello, alice!"
    shoot(page, screenshots, "03-web-home")

    page.click("header button:has-text('Log out')")
    page.wait_for_url(f"{L}/")
    shoot(page, screenshots, "04-after-logout")
    page.goto(W)
    page.wait_for_url(re.compile(re.escape(f"{L}/login?next=")))

    page.fill("#username", "alice")
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "Incorrect username or password"
    assert page.input_value("#username") == "alice"
    shoot(page, screenshots, "05-login-wrong-password")

    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{W}/")
    assert "Hello, alice!" in page.content()
    shoot(page, screenshots, "06-web-home-again")
    page.click("header >> text=Account")
    page.wait_for_url(f"{W}/account")
    assert page.locator(".badge").inner_text() == "this browser"
    assert "Headless Chrome on Linux" in page.content()
    shoot(page, screenshots, "08-account")

    other = browser.new_page()  # a second visitor, no cookie
    other.goto(f"{L}/signup")
    other.fill("#username", "ALICE")
    other.fill("#password", "another password")
    other.click("button[type=submit]")
    assert other.locator("#username-error").inner_text() == "That username is taken."
    assert other.get_attribute("#username", "aria-invalid") == "true"
    shoot(other, screenshots, "07-signup-duplicate")
    print(f"browser journey: {time.monotonic() - started:.2f} s")


def test_cookie_is_shared_with_a_subdomain(playwright_instance, chromium_path, database_server,
                                           db, tmp_path, screenshots):
    """COOKIE_DOMAIN=example.test: a cookie set by example.test reaches app.example.test."""
    from devtools.dbserver import free_port

    lp, wp = free_port(), free_port()
    system, procs = start_live_system(
        database_server.uri, tmp_path,
        LANDING_URL=f"http://example.test:{lp}", WEB_URL=f"http://app.example.test:{wp}",
        COOKIE_DOMAIN="example.test",
    )
    browser = playwright_instance.chromium.launch(
        executable_path=chromium_path, headless=True,
        args=[*CHROMIUM_ARGS,
              "--host-resolver-rules=MAP example.test 127.0.0.1, MAP *.example.test 127.0.0.1"],
    )
    try:
        assert system.landing_url == f"http://example.test:{lp}"
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{system.landing_url}/signup")
        page.fill("#username", "subdomain-user")
        page.fill("#password", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url(f"{system.web_url}/")
        assert "Hello, subdomain-user!" in page.content()
        shoot(page, screenshots, "subdomain-web-home")
        cookie = next(c for c in context.cookies() if c["name"] == "auth_session")
        assert cookie["domain"] == ".example.test"
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    finally:
        browser.close()
        for proc in procs:
            proc.stop()


def test_second_factor_journey(browser, live_system, db, screenshots):
    """Enrol by reading the secret from the page, log in with password + code, then with a
    recovery code, and turn the second factor off after re-authenticating."""
    import pyotp

    L, W = live_system.landing_url, live_system.web_url
    page = browser.new_page()
    page.goto(f"{L}/signup")
    page.fill("#username", "mfa-browser")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{W}/")
    page.goto(f"{W}/account")
    page.click("text=Manage the second factor")
    page.click("text=Set up an authenticator app")
    page.wait_for_url(f"{W}/account/security#enrol")
    assert page.locator(".qr svg").count() == 1
    secret = page.inner_text("#totp-secret").replace(" ", "")
    shoot(page, screenshots, "mfa-01-enrol")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("text=Turn it on")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    shoot(page, screenshots, "mfa-02-recovery-codes")

    page.click("header button:has-text('Log out')")
    page.wait_for_url(f"{L}/")
    page.goto(W)
    page.fill("#username", "mfa-browser")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(f"{L}/login/verify")))
    assert page.get_attribute("#code", "autocomplete") == "one-time-code"
    page.fill("#code", "000000")
    page.click("button[type=submit]")
    assert "not right" in page.locator("[role=alert]").inner_text()
    shoot(page, screenshots, "mfa-03-verify-wrong")
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))  # the next step: no replay
    page.click("button[type=submit]")
    page.wait_for_url(f"{W}/")
    shoot(page, screenshots, "mfa-04-web-home")

    page.click("header button:has-text('Log out')")
    page.goto(f"{L}/login")
    page.fill("#username", "mfa-browser")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(f"{L}/login/verify")))
    page.fill("#code", codes[0])
    page.click("button[type=submit]")
    page.wait_for_url(f"{W}/")

    # Age this session's verification past ten minutes; the cache forgets within its TTL.
    from datetime import UTC, datetime, timedelta

    db.sessions.update_many({"pending": False}, {"$set": {
        "verified_at": datetime.now(UTC) - timedelta(minutes=11)}})
    page.wait_for_timeout(5500)
    page.goto(f"{W}/account/security")
    page.click("text=Turn the second factor off")
    page.wait_for_url(re.compile(re.escape(f"{W}/account/confirm")))
    shoot(page, screenshots, "mfa-05-confirm")
    page.fill("#password", "correct horse battery")
    page.fill("#code", codes[1])
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(re.escape(f"{W}/account/security")))
    page.click("text=Turn the second factor off")
    page.wait_for_url(f"{W}/account/security?done=off")
    assert "The second factor is off." in page.content()
    shoot(page, screenshots, "mfa-06-off")


def test_passkey_journey(browser, live_system, db, screenshots):
    """Chromium's virtual authenticator (DevTools WebAuthn domain) as the device: add a
    passkey in the web app, log in with it on the landing app without a username, remove
    it and see the log-in refused."""
    L, W = live_system.landing_url, live_system.web_url
    page = browser.new_page()
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})
    page.goto(f"{L}/signup")
    page.fill("#username", "passkey-user")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{W}/")
    page.goto(f"{W}/account/security")
    page.fill("#passkey-name", "Virtual laptop")
    shoot(page, screenshots, "passkey-01-add")
    page.click("text=Add a passkey")
    page.wait_for_url(f"{W}/account/security?done=passkey")
    assert "Virtual laptop" in page.inner_text("table")
    shoot(page, screenshots, "passkey-02-added")
    assert db.passkeys.count_documents({}) == 1

    page.click("header button:has-text('Log out')")
    page.wait_for_url(f"{L}/")
    page.goto(f"{L}/login?next={W}/account")
    try:  # the browser may offer (here: use) the passkey from the username's autofill
        page.wait_for_url(f"{W}/account", timeout=3000)
    except PlaywrightTimeoutError:
        page.click("text=Log in with a passkey")
        page.wait_for_url(f"{W}/account")
    assert "passkey-user" in page.inner_text("header")
    shoot(page, screenshots, "passkey-03-logged-in")
    page.goto(W)
    assert page.locator("h1").inner_text() == "Hello, passkey-user!"

    page.goto(f"{W}/account/security")
    page.click("button:has-text('Remove')")
    page.wait_for_url(f"{W}/account/security?done=passkey-removed")
    page.click("header button:has-text('Log out')")
    page.wait_for_url(f"{L}/")
    page.goto(f"{L}/login")
    page.click("text=Log in with a passkey")
    error = page.locator("[data-passkey-error]")
    error.wait_for(state="visible")
    assert "not registered" in error.inner_text()
    shoot(page, screenshots, "passkey-04-refused")
    assert page.url.startswith(f"{L}/login")


def test_forgot_password_journey_with_the_second_factor(browser, mail_system, live_smtp_server,
                                                        db, axe_source, screenshots):
    """From /login's "Forgot your password?" to logged in with a new password and the code:
    ask by address, read the link from the SMTP server, set the new password (the page
    asks for the code: the account has a second factor), log in with both. Each new page
    is surveyed as test_pages surveys every page (axe-core, WCAG 2.2 AA)."""
    import httpx
    import pyotp

    L, W, smtp = mail_system.landing_url, mail_system.web_url, live_smtp_server
    address = "browser-reset@example.com"
    with httpx.Client(follow_redirects=False, timeout=10) as setup:
        sign_up_with_address(setup, mail_system, smtp, "browser-reset", address)
        # With the previous step's code: this step's and the next are left for the journey.
        secret, _ = enrol_totp(setup, W, at=time.time() - 30)
    survey = Survey(axe_source, screenshots)
    page = survey.context(browser).new_page()
    page.goto(f"{L}/login")
    page.click("text=Forgot your password?")
    page.wait_for_url(f"{L}/password/reset")
    survey.check(page, "reset-request")
    page.fill("#identifier", address)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "a link is on its way" in page.inner_text("main")
    survey.check(page, "reset-request-sent")

    page.goto(mailed_link(smtp, address, "/password/reset/"))
    assert "browser-reset" in page.inner_text("main"), page.inner_text("main")
    assert page.get_attribute("#code", "autocomplete") == "one-time-code"
    survey.check(page, "reset-password")
    page.fill("#new_password", "a brand new passphrase")
    page.fill("#confirm_password", "a brand new passphrase")
    page.fill("#code", "000000")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.get_attribute("#code", "aria-invalid") == "true", page.inner_text("main")
    survey.expect_focus_on_error(page, "reset-password-error")
    survey.check(page, "reset-password-error")
    page.fill("#new_password", "a brand new passphrase")
    page.fill("#confirm_password", "a brand new passphrase")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")
    page.wait_for_url(f"{L}/login?done=reset")
    assert "every session was logged out" in page.inner_text("main")
    survey.check(page, "login-after-reset")

    page.fill("#username", "browser-reset")
    page.fill("#password", "a brand new passphrase")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(re.escape(f"{L}/login/verify")))
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))  # the next step: no replay
    page.click("main button[type=submit]")
    page.wait_for_url(f"{W}/")
    assert page.locator("h1").inner_text() == "Hello, browser-reset!"
    failures = survey.failures()
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)


def _through_the_provider(page, provider, login: str, back_to: str) -> None:
    """The outside provider's own pages, as its user would: its log-in form (any name
    logs in there; it becomes the subject), then its consent, until it sends the browser
    back to `back_to` (one of our apps)."""
    for _ in range(4):
        page.wait_for_load_state()
        if not page.url.startswith(provider.issuer):
            break
        if page.locator("input[name=login]").count():
            page.fill("input[name=login]", login)
            page.fill("input[name=password]", "any password")
        with page.expect_navigation():
            page.click("button[type=submit]")
    assert page.url.startswith(back_to), page.url


def test_outside_provider_journey(browser, oidc_system, db, axe_source, screenshots):
    """Issue 29 in Chromium against a provider nobody here wrote: "Continue with Test
    IdP" on /login, the provider's log-in and consent, back to a new account with a
    chosen username; log out; log in again with the same identity; in another browser,
    link the identity of a second account while logged in to it (a password account),
    and unlink it. The new pages are surveyed as every page is (axe-core)."""
    system, provider = oidc_system
    L, W = system.landing_url, system.web_url
    survey = Survey(axe_source, screenshots)
    page = survey.context(browser).new_page()
    page.goto(f"{L}/login")
    survey.check(page, "login-with-provider")
    page.click("text=Continue with Test IdP")
    _through_the_provider(page, provider, "browser-oidc", L)
    assert "Choose a username" in page.inner_text("main"), page.inner_text("main")
    survey.check(page, "oidc-choose-username")
    page.fill("#username", "Outsider")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{W}/")
    assert page.locator("h1").inner_text() == "Hello, outsider!"
    user = db.users.find_one({"username": "outsider"})
    assert db.linked_identities.count_documents({"user_id": user["_id"]}) == 1

    page.click("header button:has-text('Log out')")
    page.wait_for_url(f"{L}/")
    page.goto(f"{L}/login")
    page.click("text=Continue with Test IdP")
    _through_the_provider(page, provider, "browser-oidc", W)  # known there: straight back
    page.wait_for_url(f"{W}/")
    assert page.locator("h1").inner_text() == "Hello, outsider!"
    assert db.users.count_documents({"username": {"$ne": None}}) >= 1

    other = survey.context(browser).new_page()  # a second person, a browser of their own
    other.goto(f"{L}/signup")
    other.fill("#username", "linker")
    other.fill("#password", "correct horse battery")
    other.click("main button[type=submit]")
    other.wait_for_url(f"{W}/")
    other.goto(f"{W}/account/security")
    other.click("text=Link Test IdP")
    other.wait_for_url(re.compile(re.escape(f"{L}/login/oidc/")))
    survey.check(other, "oidc-link-confirm")
    with other.expect_navigation():
        other.click("main button[type=submit]")
    assert not other.url.startswith(L), other.inner_text("main")
    _through_the_provider(other, provider, "browser-link", W)
    other.goto(f"{W}/account/security")
    assert "Unlink" in other.inner_text("#identities-heading + table"), other.url
    survey.check(other, "security-linked-identity")
    linker = db.users.find_one({"username": "linker"})
    assert db.linked_identities.count_documents({"user_id": linker["_id"]}) == 1
    with other.expect_navigation():
        other.click("button:has-text('Unlink')")
    assert db.linked_identities.count_documents({"user_id": linker["_id"]}) == 0
    failures = survey.failures()
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)
