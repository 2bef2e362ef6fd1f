"""`uv run page-scores`: Lighthouse's four scores for the main pages of both apps, on a
desktop and a phone, in the light and the dark colour scheme, as a table.

It starts its own database (a temporary directory) and both apps as real processes
(`devtools.testing.start_live_system`, as the browser tests do), signs a user up for the
pages behind the log-in, and runs the Lighthouse npm package (`package.json`, `npm ci`)
in Debian's Chromium. The scores are Lighthouse's own (0-100); performance is simulated
from a trace and moves with the machine's load, the other three do not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from devtools.processes import CommandParser

__all__ = ["CATEGORIES", "LIGHTHOUSE", "PAGES", "Score", "chromium", "lighthouse",
           "signed_in_cookie"]

ROOT = Path(__file__).resolve().parents[4]
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
# (name, app, path, needs a signed-in user)
PAGES = (
    ("landing /", "landing", "/", False),
    ("/signup", "landing", "/signup", False),
    ("/login", "landing", "/login", False),
    ("web /", "web", "/", True),
    ("/account", "web", "/account", True),
    ("/account/security", "web", "/account/security", True),
    ("/account/activity", "web", "/account/activity", True),
)
FORM_FACTORS = ("desktop", "mobile")
SCHEMES = ("light", "dark")


@dataclass(frozen=True)
class Score:
    page: str
    form_factor: str
    scheme: str
    scores: dict[str, int | None]  # category -> 0..100 (None: Lighthouse could not score)
    failed: tuple[str, ...] = ()  # the audits that did not pass (lighthouse())


def chromium() -> str:
    """Debian's Chromium (what the browser tests use), else Playwright's."""
    from devtools.testing.environment import chromium_executable

    if found := chromium_executable():
        return found
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        return playwright.chromium.executable_path


def lighthouse(url: str, *, form_factor: str = "desktop", scheme: str = "light",
               cookie: str = "", chrome: str | None = None, timeout: float = 180.0,
               attempts: int = 3) -> tuple[dict[str, int | None], tuple[str, ...]]:
    """`_lighthouse_once`, run again when Lighthouse itself fails (on a loaded machine its
    trace sometimes misses the navigation: NO_NAVSTART, "Please run Lighthouse again")."""
    for attempt in range(1, attempts + 1):
        try:
            return _lighthouse_once(url, form_factor=form_factor, scheme=scheme,
                                    cookie=cookie, chrome=chrome, timeout=timeout)
        except _LighthouseFailed:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


class _LighthouseFailed(RuntimeError):
    """Lighthouse gave no report (its own error, not a score)."""


def _lighthouse_once(url: str, *, form_factor: str, scheme: str, cookie: str,
                     chrome: str | None, timeout: float
                     ) -> tuple[dict[str, int | None], tuple[str, ...]]:
    """One Lighthouse run: the category scores (0-100) and the ids of the accessibility,
    best-practices and SEO audits that did not pass (the web app's pages are `noindex` on
    purpose: SEO's is-crawlable fails there). `cookie`: a Cookie header for the page (a
    signed-in user's session)."""
    if not LIGHTHOUSE.exists():
        raise RuntimeError("Lighthouse is not installed: run `npm ci` at the repository root")
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update"]
    if scheme == "dark":
        flags.append("--force-dark-mode")  # prefers-color-scheme: dark
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as out:
        report = Path(out) / "report.json"
        command = [str(LIGHTHOUSE), url, "--quiet", "--output=json",
                   f"--output-path={report}", f"--only-categories={','.join(CATEGORIES)}",
                   f"--chrome-flags={' '.join(flags)}", "--disable-full-page-screenshot"]
        if form_factor == "desktop":
            command.append("--preset=desktop")
        if cookie:
            command.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
        env = {**os.environ, "CHROME_PATH": chrome or chromium()}
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False, cwd=out)
        if done.returncode != 0 or not report.exists():
            raise _LighthouseFailed(f"lighthouse failed on {url}: {done.stderr[-1500:]}")
        result = json.loads(report.read_text(encoding="utf-8"))
    if result.get("runtimeError"):
        raise _LighthouseFailed(f"lighthouse on {url}: "
                                f"{result['runtimeError'].get('message')}")
    scores = {c: None if result["categories"][c]["score"] is None
              else round(result["categories"][c]["score"] * 100) for c in CATEGORIES}
    failed = tuple(
        ref["id"] for c in ("accessibility", "best-practices", "seo")
        for ref in result["categories"][c]["auditRefs"]
        if ref.get("weight") and (result["audits"][ref["id"]].get("score") or 0) < 1)
    return scores, failed


def signed_in_cookie(landing_url: str, username: str = "lighthouse",
                     password: str = "correct horse battery") -> str:  # noqa: S107
    """Sign a user up on the landing app (a real POST, as a browser sends it) and return
    the Cookie header of its session."""
    import httpx

    with httpx.Client(follow_redirects=False, timeout=30) as client:
        r = client.post(f"{landing_url}/signup", headers={"Origin": landing_url},
                        data={"username": username, "password": password})
        if r.status_code != 303 or "auth_session" not in client.cookies:
            raise RuntimeError(f"sign-up failed ({r.status_code}): {r.text[:300]}")
        return f"auth_session={client.cookies['auth_session']}"


def _parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="page-scores",
        description="Start a database and both apps, sign a user up, and print Lighthouse's "
                    "scores (performance, accessibility, best practices, SEO) for the main "
                    "pages at the desktop and mobile form factors, light and dark. Needs "
                    "`npm ci` (Lighthouse) and Chromium.")
    parser.add_argument("--pages", help="comma-separated page names or paths to run "
                        f"(default: all of {', '.join(p[0] for p in PAGES)})")
    parser.add_argument("--form-factor", choices=(*FORM_FACTORS, "both"), default="both")
    parser.add_argument("--scheme", choices=(*SCHEMES, "both"), default="both")
    parser.add_argument("--json", type=Path, help="also write the scores to this file")
    return parser


def _table(rows: list[Score]) -> str:
    head = f"{'page':<20} {'form':<8} {'scheme':<6} " + " ".join(f"{c[:13]:>13}"
                                                                  for c in CATEGORIES)
    lines = [head, "-" * len(head)]
    for row in rows:
        cells = " ".join(f"{'-' if row.scores[c] is None else row.scores[c]:>13}"
                         for c in CATEGORIES)
        lines.append(f"{row.page:<20} {row.form_factor:<8} {row.scheme:<6} {cells}"
                     + (f"  ({', '.join(row.failed)})" if row.failed else ""))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    wanted = [p for p in PAGES if not args.pages
              or p[0] in args.pages.split(",") or p[2] in args.pages.split(",")]
    if not wanted:
        print(f"page-scores: no such page in {args.pages!r}", file=sys.stderr)
        return 2
    if not LIGHTHOUSE.exists():
        print("page-scores: Lighthouse is not installed: run `npm ci` at the repository "
              "root", file=sys.stderr)
        return 1
    from devtools.testing.live import running_system

    factors = FORM_FACTORS if args.form_factor == "both" else (args.form_factor,)
    schemes = SCHEMES if args.scheme == "both" else (args.scheme,)
    chrome = chromium()
    rows: list[Score] = []
    with running_system() as system:
        cookie = signed_in_cookie(system.landing_url)
        for name, app, path, signed_in in wanted:
            base = system.landing_url if app == "landing" else system.web_url
            for factor in factors:
                for scheme in schemes:
                    scores, failed = lighthouse(
                        base + path, form_factor=factor, scheme=scheme,
                        cookie=cookie if signed_in else "", chrome=chrome)
                    rows.append(Score(name, factor, scheme, scores, failed))
                    print(_table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(_table(rows))
    if args.json:
        args.json.write_text(json.dumps([row.__dict__ for row in rows], indent=1) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
