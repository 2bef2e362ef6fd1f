"""Password screening (ASVS 5.0 6.2.4 and 6.2.11, NIST SP 800-63B 3.1.1.2): refuse the
commonly used passwords and those built from the username or the site's own name.

No composition rules: any characters, 8 to 255 of them (`auth_utils.rules.validation`).

Two rules, each decided on the password NFKC-normalised and case-folded (`Password1`,
`PASSWORD1` and its full-width form are one password):

- **common**: the password is one of zxcvbn's 30,000 most common passwords (the
  `passwords` frequency list zxcvbn ships, ranked from Mark Burnett's 10 million
  password set; MIT licence), or becomes one once the spaces, digits and punctuation at
  its two ends are removed (`Dragon2024!` is `dragon`, `  iloveyou.` is `iloveyou`).
- **built from** the username or the site: keep only the letters of the password (drop
  digits, spaces, punctuation, symbols); it is refused when what is left is not empty and
  is made entirely of the words below, each any number of times, in any order
  (`Carol1985!`, `carol carol`, `MonorepoAuth2024`, `auth-auth-auth`,
  `example.com/2024`). The words: the username's letters and each of its letter runs
  (`carol_smith`: `carolsmith`, `carol`, `smith`), the app's name (`monorepo`, `auth`)
  and the labels of the site's host names (`LANDING_URL`, `WEB_URL`, `COOKIE_DOMAIN`:
  `app.example.com` gives `app`, `example`, `com`). A password that also has other
  letters (`carol password`, `bob password!`) is not built from them and is accepted.

A check is a set look-up and a short scan: well under a millisecond (the list is loaded
once per process, on first use: about 0.2 s).
"""

from __future__ import annotations

import enum
import ipaddress
import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import urlsplit

__all__ = [
    "APP_WORDS",
    "COMMON_SOURCE",
    "Refusal",
    "Rule",
    "common_passwords",
    "screen_password",
    "site_words",
]

APP_WORDS: tuple[str, ...] = ("monorepo", "auth")  # "Monorepo Auth", the app's name
COMMON_SOURCE = ("zxcvbn's `passwords` frequency list (30,000 most common passwords, "
                 "from Mark Burnett's 10 million password set; MIT licence)")
_ENDS = string.whitespace + string.digits + string.punctuation
_LETTER_RUNS = re.compile(r"[^\W\d_]+")


class Rule(enum.Enum):
    COMMON = "common"
    USERNAME = "username"
    SITE = "site"


MESSAGES = {
    Rule.COMMON: "This password is one of the most commonly used passwords. "
                 "Choose another: a few unrelated words make a good one.",
    Rule.USERNAME: "This password is built from your username. Choose one that is not.",
    Rule.SITE: "This password is built from this site's name. Choose one that is not.",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    rule: Rule

    @property
    def message(self) -> str:
        return MESSAGES[self.rule]


@cache
def common_passwords() -> frozenset[str]:
    """zxcvbn's common passwords, loaded once per process."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isalpha())


@lru_cache(maxsize=256)
def _words(texts: tuple[str, ...]) -> frozenset[str]:
    """Each text's letters and each run of letters in it (`carol_smith`: `carolsmith`,
    `carol`, `smith`)."""
    found: set[str] = set()
    for text in texts:
        folded = _fold(text)
        found.update(w for w in (_letters(folded), *_LETTER_RUNS.findall(folded)) if w)
    return frozenset(found)


def _made_of(letters: str, words: frozenset[str]) -> bool:
    """`letters` is a concatenation of `words` (each any number of times)."""
    if not letters or not words:
        return False
    reached = [True] + [False] * len(letters)  # reached[i]: letters[:i] is made of words
    for i in range(len(letters)):
        if reached[i]:
            for word in words:
                if letters.startswith(word, i):
                    reached[i + len(word)] = True
    return reached[-1]


def site_words(urls: Iterable[str] = (), domains: Iterable[str | None] = ()) -> tuple[str, ...]:
    """The app's name and the labels of the site's host names (IP addresses have none)."""
    hosts = [urlsplit(u).hostname or "" for u in urls] + [d or "" for d in domains]
    labels: set[str] = set()
    for host in hosts:
        try:
            ipaddress.ip_address(host.strip("[]"))
            continue
        except ValueError:
            pass
        labels.update(_words(tuple(host.split("."))))
    return tuple(sorted(set(APP_WORDS) | labels))


def screen_password(password: str, *, username: str = "",
                    site: Iterable[str] = APP_WORDS) -> Refusal | None:
    """The rule that refuses `password` (see the module's docstring), or None."""
    folded = _fold(password)
    common = common_passwords()
    if folded in common or folded.strip(_ENDS) in common:
        return Refusal(Rule.COMMON)
    letters = _letters(folded)
    site_set = _words(tuple(site))
    if _made_of(letters, site_set):
        return Refusal(Rule.SITE)
    if username and _made_of(letters, site_set | _words((username,))):
        return Refusal(Rule.USERNAME)
    return None
