"""A person-readable name for a User-Agent string ("Firefox on Windows")."""

from __future__ import annotations

import re

__all__ = ["describe_user_agent"]

_BROWSERS = [  # order matters: Edge and Opera also say "Chrome", Chrome also says "Safari"
    ("Edge", r"Edg(e|A|iOS)?/"), ("Opera", r"OPR/|Opera"), ("Firefox", r"Firefox/|FxiOS/"),
    ("Chromium", r"Chromium/"), ("Chrome", r"Chrome/|CriOS/"), ("Safari", r"Safari/"),
    ("curl", r"^curl/"), ("Python", r"python-httpx|python-requests|Python-urllib"),
]
_SYSTEMS = [
    ("Android", r"Android"), ("iOS", r"iPhone|iPad|iPod"), ("Windows", r"Windows"),
    ("macOS", r"Mac OS X|Macintosh"), ("ChromeOS", r"CrOS"), ("Linux", r"Linux|X11"),
]


def describe_user_agent(user_agent: str) -> str:
    if not user_agent:
        return "Unknown browser"
    browser = next((n for n, p in _BROWSERS if re.search(p, user_agent)), "Unknown browser")
    system = next((n for n, p in _SYSTEMS if re.search(p, user_agent)), None)
    if "HeadlessChrome" in user_agent:
        browser = "Headless Chrome"
    return f"{browser} on {system}" if system else browser
