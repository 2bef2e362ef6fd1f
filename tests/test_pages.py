"""Every page of both apps as a person meets it, in headless Chromium: axe-core finds no
WCAG 2.2 AA violation, nothing scrolls sideways at 320 px, the header is one height on
every page, buttons keep their label on one line and side-by-side buttons match, and
focus lands on the error after a failed submission. Each page is checked on a desktop
(1280x800) and a phone (375x812), in the light and the dark colour scheme, logged out and
in, with errors, notices, 404, 403, 400 and 503; its screenshots go to
artifacts/screenshots/test_every_page/<page>-<viewport>-<scheme>.png."""

from __future__ import annotations

import json
import re
import time
from collections import Counter

import pyotp
import pytest

from devtools.dbserver import free_port
from devtools.testing import start_live_system

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

VIEWPORTS = {"desktop": (1280, 800), "phone": (375, 812)}
SCHEMES = ("light", "dark")
NARROWEST = 320
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => ({id: v.id, impact: v.impact,
    nodes: v.nodes.map(n => n.target.join(" ") + " | " + (n.failureSummary || ""))}));
}"""
# What a person sees of the layout: the header's height, buttons whose label wrapped, and
# rows of side-by-side buttons of different heights.
MEASURE = """() => {
  const header = document.querySelector("header.site");
  const wrapped = [...document.querySelectorAll("button, a.button")]
    .filter(b => b.offsetParent !== null)
    .filter(b => { const r = document.createRange(); r.selectNodeContents(b);
      const lines = new Set([...r.getClientRects()].map(x => Math.round(x.bottom)));
      return lines.size > 1 || b.scrollWidth > b.clientWidth; })
    .map(b => b.textContent.trim());
  const uneven = [...document.querySelectorAll(".actions")].map(row =>
      [...row.querySelectorAll("button, a.button")].filter(b => b.offsetParent !== null)
        .map(b => Math.round(b.getBoundingClientRect().height)))
    .filter(hs => new Set(hs).size > 1);
  return {header: header ? Math.round(header.getBoundingClientRect().height) : null,
          wrapped, uneven};
}"""
# WCAG 2.2 non-text contrast (1.4.11), which axe does not measure: input borders and the
# focus ring against the backgrounds they sit on, >= 3:1, read from the computed styles.
NON_TEXT = """() => {
  const parts = c => c.match(/[\\d.]+/g).map(Number);
  const over = (c, behind) => { const [r, g, b, a = 1] = parts(c), base = parts(behind);
    return `rgb(${[r, g, b].map((v, i) => v * a + base[i] * (1 - a)).join(", ")})`; };
  const rgb = c => parts(c).slice(0, 3);
  const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const backdrop = el => { for (let e = el.parentElement; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      if (!bg.startsWith("rgba(0, 0, 0, 0)") && bg !== "transparent") return bg; }
    return "rgb(255, 255, 255)"; };
  const low = [];
  for (const el of document.querySelectorAll("input:not([type=hidden]), button, a")) {
    if (el.offsetParent === null) continue;
    const s = getComputedStyle(el), behind = backdrop(el);
    const border = over(s.borderTopColor, behind);
    if (el.tagName === "INPUT" && ratio(border, behind) < 3)
      low.push(`border of #${el.id}: ${ratio(border, behind).toFixed(2)}`);
    el.focus();
    const f = getComputedStyle(el);
    const ring = over(f.outlineColor, behind);
    if (document.activeElement === el && f.outlineStyle !== "none" && ratio(ring, behind) < 3)
      low.push(`focus ring of ${el.tagName} ${el.textContent.trim().slice(0, 20)}: `
               + ratio(ring, behind).toFixed(2));
    el.blur();
  }
  return [...new Set(low)];
}"""


class Survey:
    """Runs every check on the page in front of it and keeps what it finds."""

    def __init__(self, axe: str, folder) -> None:
        self.axe, self.folder = axe, folder
        self.violations: Counter = Counter()
        self.details: list[str] = []
        self.widths: dict[str, int] = {}
        self.headers: dict[str, dict[str, int | None]] = {}
        self.problems: list[str] = []
        self.shots: list[str] = []

    def context(self, browser):
        context = browser.new_context(viewport=dict(zip(("width", "height"),
                                                        VIEWPORTS["desktop"], strict=True)))
        # An init script is injected by the browser itself, so the pages' strict
        # Content-Security-Policy (script-src 'self') stays on while axe runs.
        context.add_init_script(self.axe)
        # A failed subresource (a missing favicon, stylesheet or script) is an error in
        # the console of every page that asks for it.
        context.on("response", lambda r: self.problems.append(
            f"{r.status} for {r.url}") if r.status >= 400 and r.request.resource_type
            != "document" else None)
        context.on("weberror", lambda e: self.problems.append(f"script error: {e.error}"))
        return context

    def check(self, page, name: str) -> None:
        page.wait_for_load_state("load")
        heights = {}
        for viewport, (width, height) in VIEWPORTS.items():
            page.set_viewport_size({"width": width, "height": height})
            for scheme in SCHEMES:
                page.emulate_media(color_scheme=scheme)
                for v in page.evaluate(RUN_AXE, AXE_TAGS):
                    self.violations[v["id"]] += 1
                    self.details.append(f"{name} {viewport} {scheme}: {v['id']} ({v['impact']})"
                                        f" {v['nodes'][:3]}")
                if viewport == "desktop":
                    for low in page.evaluate(NON_TEXT):
                        self.problems.append(f"{name} {scheme}: {low} (under 3:1)")
                shot = f"{name}-{viewport}-{scheme}.png"
                page.screenshot(path=str(self.folder / shot), full_page=True)
                self.shots.append(shot)
            measured = page.evaluate(MEASURE)
            heights[viewport] = measured["header"]
            if measured["wrapped"]:
                self.problems.append(f"{name} {viewport}: label wraps in {measured['wrapped']}")
            if measured["uneven"]:
                self.problems.append(f"{name} {viewport}: side-by-side buttons of heights "
                                     f"{measured['uneven']}")
        self.headers[name] = heights
        page.set_viewport_size({"width": NARROWEST, "height": 640})
        self.widths[name] = page.evaluate("document.scrollingElement.scrollWidth")
        page.set_viewport_size({"width": VIEWPORTS["desktop"][0],
                                "height": VIEWPORTS["desktop"][1]})
        page.emulate_media(color_scheme="light")

    def expect(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)

    def expect_focus_on_error(self, page, name: str) -> None:
        """After a failed submission focus is on the error summary or the invalid field."""
        focused = page.evaluate("""() => { const e = document.activeElement;
            return {id: e.id, tag: e.tagName, invalid: e.getAttribute("aria-invalid"),
                    alert: e.getAttribute("role")}; }""")
        if not (focused["invalid"] == "true" or focused["alert"] == "alert"):
            self.problems.append(f"{name}: focus is on {focused} after a failed submission")

    def report(self) -> str:
        desktop = sorted({h["desktop"] for h in self.headers.values()}, key=str)
        phone = sorted({h["phone"] for h in self.headers.values()}, key=str)
        return json.dumps({
            "pages": len(self.headers), "screenshots": len(self.shots),
            "axe violations by rule (page x viewport x scheme)": dict(self.violations),
            "scrollWidth at 320 px": self.widths,
            "header heights desktop": desktop, "header heights phone": phone,
        }, indent=1)


def submit_without_browser_checks(page, selector: str = "main form") -> None:
    """Send a form as typed, past the browser's own constraint checks, to see the server's
    answer (what a browser without them, or a script, gets)."""
    page.eval_on_selector(selector, "f => { f.noValidate = true; }")
    with page.expect_navigation():
        page.click(f"{selector} button[type=submit]")


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
    failures = [f"axe: {d}" for d in survey.details]
    failures += [f"{name}: {w} px wide at {NARROWEST} px" for name, w in survey.widths.items()
                 if w > NARROWEST]
    for viewport in VIEWPORTS:
        heights = {h[viewport] for h in survey.headers.values()}
        if len(heights) != 1:
            failures.append(f"header heights ({viewport}): {sorted(heights, key=str)}")
    failures += survey.problems
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)
