"""Password screening (ASVS 5.0 6.2.4, 6.2.11): the commonly used passwords and those
built from the username or the site's name are refused, with a message naming the rule
and never the password; no composition rules."""

import time
from dataclasses import replace

import pytest

from auth_utils import load_settings, validate_password
from auth_utils.rules.password_policy import (
    APP_WORDS,
    MESSAGES,
    Rule,
    common_passwords,
    screen_password,
    site_words,
)
from devtools.testing import TEST_ENV

COMMON, USERNAME, SITE = (MESSAGES[r] for r in (Rule.COMMON, Rule.USERNAME, Rule.SITE))
SITE_WORDS = site_words(["https://auth.example.com", "https://app.example.com"],
                        ["example.com"])


def test_the_top_ten_thousand_of_the_published_list_are_all_refused():
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    top = FREQUENCY_LISTS["passwords"][:10_000]
    assert top[:3] == ["123456", "password", "12345678"]  # ranked, most common first
    long_enough = [p for p in top if len(p) >= 8]
    assert len(long_enough) > 3000
    for password in long_enough:
        assert validate_password(password) == COMMON, password
    assert len(common_passwords()) == 30_000  # the whole list is refused, not only the top


@pytest.mark.parametrize(
    "password",
    ["password", "Password", "PASSWORD1", "12345678", "qwertyuiop", "iloveyou",
     "trustno1", "  password  ", "Dragon2024!", "sunshine.", "123monkey",
     "\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44"],  # full-width "Password"
)
def test_common_passwords_in_any_case_and_with_digits_or_symbols_around(password):
    assert validate_password(password) == COMMON


@pytest.mark.parametrize(
    ("username", "password"),
    [("carol", "carolcarol"), ("carol", "Carol1985!"), ("carol", "C.A.R.O.L. 2024"),
     ("carol_smith", "smith-carol 99"), ("carol_smith", "CarolSmith!!"),
     ("dave", "davemonorepo"), ("erin-77", "Erin_1977erin")],
)
def test_built_from_the_username(username, password):
    assert validate_password(password, username=username) == USERNAME


@pytest.mark.parametrize(
    "password",
    ["monorepo", "MonorepoAuth", "monorepo auth 2024", "auth-auth-auth", "auth1234auth",
     "example.com2024", "app.example.com", "Example!Example"],
)
def test_built_from_the_site_name_or_domain(password):
    assert validate_password(password, username="carol", site_words=SITE_WORDS) == SITE


def test_site_words_come_from_the_settings():
    settings = load_settings({**TEST_ENV, "LANDING_URL": "https://id.shop-example.org",
                              "WEB_URL": "https://app.shop-example.org:8443",
                              "COOKIE_DOMAIN": ".shop-example.org"})
    assert set(settings.site_words) == {
        *APP_WORDS, "id", "app", "shopexample", "shop", "example", "org"}
    assert validate_password("ShopExample2024", site_words=settings.site_words) == SITE
    ips = replace(settings, landing_url="http://127.0.0.1:4321", web_url="http://[::1]:3000",
                  cookie_domain=None)
    assert set(ips.site_words) == set(APP_WORDS)  # an address has no words


@pytest.mark.parametrize(
    ("username", "password"),
    # The test suite's own passwords, each for the user it is used with.
    [("alice", "correct horse"), ("alice", "new password 1"), ("bob", "bob password!"),
     ("carol", "carol password"), ("dave", "correct horse battery"),
     ("alice", "another password"), ("alice", "pässwörd🙂"), ("alice", "a" * 255),
     ("alice", "        "), ("alice", "83749182"), ("localhost", "correct horse"),
     # Other letters than the words: not built from them.
     ("carol", "carol likes long walks"), ("carol", "monorepo carol zebra")],
)
def test_good_passwords_are_accepted(username, password):
    site = site_words(["http://localhost:4321", "http://localhost:3000"])
    assert validate_password(password, username=username, site_words=site) is None


def test_messages_name_the_rule_and_never_echo_the_password():
    cases = {"Password1": (Rule.COMMON, "common"), "carolcarol": (Rule.USERNAME, "username"),
             "monorepoauth": (Rule.SITE, "site's name")}
    for password, (rule, words) in cases.items():
        refusal = screen_password(password, username="carol")
        assert refusal is not None and refusal.rule is rule
        assert words in refusal.message
        assert password.lower() not in refusal.message.lower()


def test_length_rules_still_come_first():
    assert validate_password("pass") == "Password must be 8 to 255 characters long."
    assert validate_password("a" * 256) == "Password must be 8 to 255 characters long."


def test_a_check_is_fast():
    """It runs on every sign-up and password change; the list loads once per process."""
    common_passwords()
    passwords = ["correct horse battery staple", "x" * 255, "carol1985!" * 25,
                 "monorepo" * 30, "Tr0ub4dor&3"]
    started = time.perf_counter()
    for _ in range(200):
        for password in passwords:
            validate_password(password, username="carol", site_words=SITE_WORDS)
    each = (time.perf_counter() - started) / (200 * len(passwords))
    assert each < 0.005, f"{each * 1000:.3f} ms per check"
