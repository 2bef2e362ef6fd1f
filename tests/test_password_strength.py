"""The live password hint (theme's password-strength.js) in headless Chromium, under the
apps' real CSP (script-src 'self'): it follows the typing on the sign-up and the
change-password forms; the server still decides."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def hint_after(page, field, text, hint):
    page.fill(field, text)
    return page.locator(hint).inner_text()


def test_strength_hint_follows_the_typing_on_both_forms(browser, live_system, db, screenshots):
    L, W = live_system.landing_url, live_system.web_url
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{L}/signup")
    assert not page.locator("#password-strength").is_visible()  # nothing typed yet
    page.fill("#username", "Carol")
    hint = "#password-strength"
    assert hint_after(page, "#password", "abc", hint) == "Too short: 5 more characters needed."
    assert "Built from your username" in hint_after(page, "#password", "Carol1985!", hint)
    page.screenshot(path=str(screenshots / "signup-built-from-username.png"))
    assert "Built from this site's name" in hint_after(page, "#password", "MonorepoAuth1", hint)
    assert hint_after(page, "#password", "aaaaaaaa", hint).startswith("Weak")
    strong = hint_after(page, "#password", "correct horse battery staple", hint)
    assert strong.startswith("Strong") and "when you submit" in strong
    assert page.locator(hint).get_attribute("data-strength") == "strong"
    page.screenshot(path=str(screenshots / "signup-strong.png"))
    page.fill("#password", "")
    assert not page.locator(hint).is_visible()

    page.fill("#password", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_url(f"{W}/")
    page.goto(f"{W}/account")
    hint = "#new-strength"
    assert "Built from your username" in hint_after(page, "#new_password", "carol-carol", hint)
    assert hint_after(page, "#new_password", "a quiet tuesday morning", hint).startswith(
        "Strong")
    assert errors == []  # no CSP refusal, no script error
