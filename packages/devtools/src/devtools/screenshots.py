"""`uv run readme-screenshots`: the README's pictures (docs/screenshots/*.png), taken from
the current pages in headless Chromium, so they are regenerated whenever the pages change
rather than copied by hand from a test run's artifacts.

It starts its own database and both apps (`devtools.testing.running_system`), signs a
user up and takes: the landing page, the sign-up form with an error, the web app's home
(1280x720, light) and the account page on a phone (375x812, dark).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from devtools.processes import CommandParser

__all__ = ["PICTURES", "take_pictures"]

ROOT = Path(__file__).resolve().parents[4]
OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 720}
PHONE = {"width": 375, "height": 812}
# The file names the README shows, in its order.
PICTURES = ("landing.png", "signup-error.png", "web-home.png", "account-phone-dark.png")
USER, PASSWORD = "alice", "correct horse battery"


def take_pictures(out: Path, chromium_path: str, landing_url: str, web_url: str) -> list[Path]:
    """The four pictures of `PICTURES`, written to `out` (the database behind the two
    URLs must not have the user alice yet)."""
    from playwright.sync_api import sync_playwright

    from devtools.testing.environment import CHROMIUM_ARGS

    out.mkdir(parents=True, exist_ok=True)
    L, W = landing_url, web_url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            visitor = browser.new_context(viewport=DESKTOP, color_scheme="light")
            page = visitor.new_page()
            page.goto(L)
            page.screenshot(path=out / "landing.png")
            # Alice signs up in one browser; a second visitor then tries her name.
            user = browser.new_context(viewport=DESKTOP, color_scheme="light")
            mine = user.new_page()
            mine.goto(f"{L}/signup")
            mine.fill("#username", USER)
            mine.fill("#password", PASSWORD)
            with mine.expect_navigation():
                mine.click("button[type=submit]")
            page.goto(f"{L}/signup")
            page.fill("#username", USER)
            page.fill("#password", "another good password")
            with page.expect_navigation():
                page.click("button[type=submit]")
            page.screenshot(path=out / "signup-error.png")
            mine.goto(W)
            mine.screenshot(path=out / "web-home.png")
            phone = browser.new_context(viewport=PHONE, color_scheme="dark",
                                        is_mobile=True, has_touch=True,
                                        storage_state=user.storage_state())
            small = phone.new_page()
            small.goto(f"{W}/account")
            small.screenshot(path=out / "account-phone-dark.png")
        finally:
            browser.close()
    return [out / name for name in PICTURES]


def main(argv: Sequence[str] | None = None) -> int:
    parser = CommandParser(
        prog="readme-screenshots",
        description="Regenerate the README's pictures (docs/screenshots/*.png) from the "
                    "current pages: starts a database and both apps, signs a user up and "
                    "takes them in headless Chromium.")
    parser.add_argument("--out", type=Path, default=OUT,
                        help=f"where to write them (default: {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    from devtools.lighthouse import chromium
    from devtools.testing.live import running_system

    with running_system() as system:
        written = take_pictures(args.out, chromium(), system.landing_url, system.web_url)
    for path in written:
        print(f"readme-screenshots: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
