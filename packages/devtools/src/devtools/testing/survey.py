"""Pages as a person meets them, in headless Chromium (tests/test_pages.py surveys every
page; journeys check the pages they pass): `Survey.check(page, name)` runs axe-core (WCAG
2.2 AA), measures non-text contrast, sideways scrolling at 320 px, the header's height and
buttons, on a desktop and a phone viewport in both colour schemes, with screenshots;
`Survey.failures()` lists what it found."""

from __future__ import annotations

import json
from collections import Counter

from devtools.testing.helpers import wait_for

__all__ = ["AXE_TAGS", "NARROWEST", "SCHEMES", "VIEWPORTS", "Survey",
           "submit_without_browser_checks"]

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
        # Chromium moves focus to an `autofocus` element at its next rendering update,
        # which can come after the load event the navigation waited for. Polled from
        # here: `wait_for_function` polls by `eval` in the page, which our CSP refuses
        # (script-src 'self'), so it failed whenever the focus had not moved yet.
        wait_for(lambda: page.evaluate("document.activeElement !== document.body"), 3.0)
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

    def failures(self) -> list[str]:
        """Every problem found: axe violations, sideways scrolling at 320 px, header
        heights that differ between pages, and what `expect` and the checks noted."""
        failures = [f"axe: {d}" for d in self.details]
        failures += [f"{name}: {w} px wide at {NARROWEST} px" for name, w in self.widths.items()
                     if w > NARROWEST]
        for viewport in VIEWPORTS:
            heights = {h[viewport] for h in self.headers.values()}
            if len(heights) != 1:
                failures.append(f"header heights ({viewport}): {sorted(heights, key=str)}")
        return failures + self.problems


def submit_without_browser_checks(page, selector: str = "main form") -> None:
    """Send a form as typed, past the browser's own constraint checks, to see the server's
    answer (what a browser without them, or a script, gets)."""
    page.eval_on_selector(selector, "f => { f.noValidate = true; }")
    with page.expect_navigation():
        page.click(f"{selector} button[type=submit]")
