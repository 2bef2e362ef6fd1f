"""The example partner app (apps/partner) in Chromium across two sites: the landing and
web apps on localhost, the partner on 127.0.0.1 (another host, so another site for
cookies). A visitor logs in to the partner through our provider; no cookie of one site is
ever sent to the other; a log-out in the web app reaches the partner by the back channel;
a returning visitor's log-in goes straight back to the partner (CSP form-action allows
that client's registered origin on our log-in page); the partner's log-out ends ours."""

from __future__ import annotations

import re
import time

import pytest

from devtools.partner import NAME
from devtools.testing import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASSWORD = "correct horse battery"


def shoot(page, folder, name):
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def delivery_report(db) -> str:
    """What became of the back-channel log-outs: which sender tried, what went wrong."""
    return "\n".join(
        f"{d['status']} attempts={d.get('attempts')} by={d.get('leased_by')} "
        f"error={d.get('last_error')!r}" for d in db.oauth_logouts.find()) or "no records"


def test_partner_login_across_sites_and_back_channel_logout(browser, partner_system, db,
                                                            screenshots):
    system, P, core = partner_system
    L, W = system.landing_url, system.web_url
    assert core.accounts.register("alice", PASSWORD).ok
    context = browser.new_context()
    sent: list[tuple[str, str]] = []  # (URL, Cookie header) of every request Chromium sent
    context.on("requestfinished",
               lambda request: sent.append((request.url,
                                            request.all_headers().get("cookie", ""))))
    blocked: list[str] = []
    page = context.new_page()
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)

    page.goto(P)
    page.click("text=Log in with your account")
    page.wait_for_url(re.compile(re.escape(f"{L}/login?next=")))
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(f"{L}/oauth2/authorize")))  # consent, once
    assert NAME in page.locator("main").inner_text()
    shoot(page, screenshots, "01-consent")
    page.click("button[value=allow]")
    page.wait_for_url(f"{P}/")
    assert page.locator("h1").inner_text() == "Hello, alice!"
    shoot(page, screenshots, "02-partner-logged-in")

    # Each site's cookie is its own: never in the other's jar, never sent to the other.
    assert {c["name"] for c in context.cookies(P)} == {"partner_session"}
    assert "auth_session" in {c["name"] for c in context.cookies(L)}
    assert "partner_session" not in {c["name"] for c in context.cookies([L, W])}
    to_partner = [cookie for url, cookie in sent if url.startswith(P)]
    to_ours = [cookie for url, cookie in sent if url.startswith((L, W))]
    assert any("partner_session=" in c for c in to_partner)
    assert any("auth_session=" in c for c in to_ours)
    assert not any("auth_session" in c for c in to_partner), to_partner
    assert not any("partner_session" in c for c in to_ours), to_ours

    # A log-out in the web app: the partner hears of it through the back channel.
    page.goto(W)
    page.click("header button:has-text('Log out')")
    page.wait_for_url(f"{L}/")
    ended = time.monotonic()

    def partner_logged_out() -> bool:
        page.goto(P)
        return page.locator("text=Log in with your account").count() == 1

    assert wait_for(partner_logged_out, timeout=20), \
        f"partner still logged in; the log-outs:\n{delivery_report(db)}"
    print(f"back-channel log-out reached the partner {time.monotonic() - ended:.2f} s after "
          f"the log-out in the web app:\n{delivery_report(db)}")
    shoot(page, screenshots, "03-partner-logged-out")

    # A returning visitor (consent remembered): our log-in form's POST is redirected to
    # /oauth2/authorize and on to the partner, which form-action must allow.
    page.click("text=Log in with your account")
    page.wait_for_url(re.compile(re.escape(f"{L}/login?next=")))
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{P}/")
    assert page.locator("h1").inner_text() == "Hello, alice!"
    assert not blocked, blocked

    # The partner's own log-out ends our session too (RP-initiated log-out).
    page.click("button:has-text('Log out')")
    page.wait_for_url(re.compile(re.escape(f"{P}/?state=")))  # the provider sent it back
    assert page.locator("text=Log in with your account").count() == 1
    page.goto(W)
    page.wait_for_url(re.compile(re.escape(f"{L}/login?next=")))
    assert "auth_session" not in {c["name"] for c in context.cookies(L)}
    context.close()
