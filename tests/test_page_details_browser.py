"""The pages issue 27 changed, in headless Chromium: what only a browser shows (the Copy
buttons copy, the authenticator key wraps only between groups, the recovery codes need
"I have saved them", the code page's Cancel ends the log-in, the 429 page), each new state
at 0 axe-core violations on a desktop and a phone, light and dark. Screenshots go to
artifacts/screenshots/test_new_states_in_chromium/<state>-<viewport>-<scheme>.png."""

from __future__ import annotations

import re

import pyotp
import pytest

from devtools.testing import start_live_system

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

VIEWPORTS = {"desktop": (1280, 800), "phone": (375, 812)}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => v.id + " (" + v.impact + "): "
    + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "));
}"""
# Each group of four of the key must sit on one line (a break only between groups).
SPLIT_GROUPS = """() => {
  const code = document.getElementById("totp-secret"), text = code.firstChild;
  const split = [];
  for (const m of text.data.matchAll(/[A-Z2-7]{4}/g)) {
    const r = document.createRange(); r.setStart(text, m.index);
    r.setEnd(text, m.index + 4);
    if (new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1)
      split.push(m[0]);
  }
  return split;
}"""


@pytest.fixture(scope="module")
def strict_system(database_server, test_environment, tmp_path_factory):
    """Both apps with a low per-user log-in limit, so a 429 is three wrong passwords away
    (the suite's own live system is generous)."""
    system, procs = start_live_system(database_server.uri, tmp_path_factory.mktemp("strict"),
                                      LOGIN_MAX_FAILURES_PER_USER="3")
    yield system
    for proc in procs:
        proc.stop()


# The page's cumulative layout shift so far (what Lighthouse's CLS adds up).
LAYOUT_SHIFT = """() => new Promise(resolve => { let total = 0;
  new PerformanceObserver(list => { for (const e of list.getEntries())
    if (!e.hadRecentInput) total += e.value; })
    .observe({type: "layout-shift", buffered: true});
  setTimeout(() => resolve(total), 300); })"""


class States:
    def __init__(self, folder):
        self.folder, self.problems = folder, []

    def check(self, page, name: str) -> None:
        page.wait_for_load_state("load")
        for viewport, (width, height) in VIEWPORTS.items():
            page.set_viewport_size({"width": width, "height": height})
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                self.problems += [f"{name} {viewport} {scheme}: {v}"
                                  for v in page.evaluate(RUN_AXE, AXE_TAGS)]
                page.screenshot(path=str(self.folder / f"{name}-{viewport}-{scheme}.png"),
                                full_page=True)
        page.set_viewport_size({"width": 320, "height": 640})
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > 320:
            self.problems.append(f"{name}: {width} px wide at 320 px")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.emulate_media(color_scheme="light")


def test_new_states_in_chromium(browser, strict_system, db, make_core, axe_source,
                                screenshots):
    L, W = strict_system.landing_url, strict_system.web_url
    states = States(screenshots)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(axe_source)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=W)
    errors = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    page = context.new_page()
    # Show password: a toggle inside the field's box, which keeps its place and size.
    plain = browser.new_context(viewport={"width": 1280, "height": 800},
                                java_script_enabled=False)
    no_js = plain.new_page()
    no_js.goto(f"{L}/signup")
    box_without = no_js.locator("#password").bounding_box()
    plain.close()
    page.goto(f"{L}/signup")
    toggle = page.locator("button.reveal[aria-controls=password]")
    toggle.wait_for()
    assert page.locator("#password").bounding_box() == box_without
    page.fill("#password", "correct horse battery")
    toggle.click()
    assert page.get_attribute("#password", "type") == "text"
    assert toggle.get_attribute("aria-pressed") == "true"
    toggle.click()
    assert page.get_attribute("#password", "type") == "password"
    states.check(page, "signup-show-password")
    # Every wrong field at once, the summary focused.
    page.fill("#username", "no spaces allowed")
    page.fill("#password", "short")
    page.eval_on_selector("main form", "f => { f.noValidate = true; }")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.evaluate("document.activeElement.id") == "form-error"
    assert page.locator("[aria-invalid=true]").count() >= 2
    states.check(page, "signup-errors")
    page.fill("#username", "detail-tester")
    page.fill("#password", "correct horse battery")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{W}/")

    # Enrolment: the key wraps between groups only, Copy copies it without spaces, and
    # the set-up can be cancelled.
    page.goto(f"{W}/account/security")
    page.locator("form[data-passkey=register]").wait_for()  # passkeys.js has run
    assert not page.locator("[data-passkey-unavailable]").is_visible()  # JavaScript is on
    assert page.evaluate(LAYOUT_SHIFT) == 0, "the passkey form moved the page"
    card = page.locator("main .card").bounding_box()
    page.goto(f"{W}/account")
    assert page.locator("main .card").bounding_box()["width"] == card["width"]
    page.goto(f"{W}/account/security")
    states.check(page, "security")
    page.click("text=Set up an authenticator app")
    page.wait_for_url(f"{W}/account/security#enrol")
    secret = page.inner_text("#totp-secret").replace(" ", "")
    copy = page.locator("button[data-copy='totp-secret']")
    copy.wait_for(state="visible")
    copy.click()
    page.locator("[data-copy-status]").first.get_by_text("Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    for width in (320, 375):
        page.set_viewport_size({"width": width, "height": 700})
        assert page.evaluate(SPLIT_GROUPS) == [], f"a group of the key breaks at {width} px"
    page.set_viewport_size({"width": 1280, "height": 800})
    states.check(page, "security-enrol")
    with page.expect_navigation():
        page.click("text=Cancel the set-up")
    assert page.locator("#totp-secret").count() == 0
    assert page.evaluate("document.activeElement.id") == "notice"  # the success notice
    states.check(page, "security-enrol-cancelled")

    # Recovery codes: Copy and Print are there, Done needs "I have saved these codes".
    page.click("text=Set up an authenticator app")
    page.wait_for_url(f"{W}/account/security#enrol")
    secret = page.inner_text("#totp-secret").replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("text=Turn it on")
    page.locator("#recovery-codes").wait_for()
    codes = re.findall(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}", page.inner_text("#recovery-codes"))
    assert len(codes) == 10
    assert page.locator("button[data-print]").is_visible()
    page.click("button[data-copy='recovery-codes']")
    page.get_by_text("Copied.").wait_for()
    assert re.findall(r"[A-Z2-7-]{19}", page.evaluate("navigator.clipboard.readText()")) \
        == codes
    states.check(page, "recovery-codes")
    page.click("main button:has-text('Done')")  # not ticked: the browser keeps us here
    assert "done=" not in page.url and page.locator("#recovery-codes").count() == 1
    page.check("#saved")
    with page.expect_navigation():
        page.click("main button:has-text('Done')")
    assert "done=codes-saved" in page.url
    assert page.evaluate("document.activeElement.id") == "notice"
    # The keyboard's first stop is the skip link; it leads past the header to <main>.
    page.goto(f"{W}/account/security")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")

    # Activity: grouped by day, no session hashes, 18 events short enough on a phone.
    from auth_utils.services.activity import Actor, Kind

    core, me = make_core(), db.users.find_one({"username": "detail-tester"})["_id"]
    firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
    while db.security_events.count_documents({"user_id": me}) < 18:
        core.activity.record(Kind.LOGIN_FAILED, Actor(me, "detail-tester", ip="198.51.100.7",
                                                      user_agent=firefox), success=False)
    page.goto(f"{W}/account/activity")
    assert page.locator("li.event").count() == 18
    page.set_viewport_size({"width": 375, "height": 812})
    tall = page.evaluate("document.scrollingElement.scrollHeight")
    assert tall < 2000, f"18 events take {tall} px on a phone"
    page.set_viewport_size({"width": 1280, "height": 800})
    assert page.locator("main h2").first.inner_text() == "Today"
    assert page.locator("main code").count() == 0
    states.check(page, "activity")

    # The code page: whose log-in, no Sign up in the header, Cancel ends it.
    pending = browser.new_context(viewport={"width": 1280, "height": 800})
    pending.add_init_script(axe_source)
    other = pending.new_page()
    other.goto(f"{L}/login")
    other.fill("#username", "detail-tester")
    other.fill("#password", "correct horse battery")
    other.click("main button[type=submit]")
    other.wait_for_url(re.compile(re.escape(f"{L}/login/verify")))
    assert "one step left" in other.inner_text("main")
    assert other.locator("header a:has-text('Sign up')").count() == 0
    assert "detail-tester" in other.inner_text("header")
    states.check(other, "verify-pending")
    with other.expect_navigation():
        other.click("main button:has-text('Cancel')")
    assert other.url == f"{L}/login"
    assert not [c for c in pending.cookies() if c["name"] == "auth_session"]
    assert other.locator("header a:has-text('Sign up')").count() == 1

    # 429: how long, what still works, no field marked as wrong.
    for _ in range(3):
        other.fill("#username", "detail-tester")
        other.fill("#password", "not the password")
        with other.expect_navigation():
            other.click("main button[type=submit]")
    other.fill("#username", "detail-tester")
    other.fill("#password", "correct horse battery")
    with other.expect_navigation() as answer:
        other.click("main button[type=submit]")
    assert answer.value.status == 429
    assert re.search(r"Try again in (about \d+ minutes?|less than a minute)\.",
                     other.inner_text("[role=alert]"))  # the window's last minute: less
    assert other.locator("[aria-invalid=true]").count() == 0
    assert other.locator("#throttled-help a[href='/password/reset']").count() == 1
    states.check(other, "login-throttled")
    pending.close()
    context.close()
    assert not errors, errors
    assert not states.problems, "\n".join(states.problems)
