"""Sign-up refuses the commonly used passwords and those built from the username or the
site's name (ASVS 5.0 6.2.4, 6.2.11): the form comes back with the rule on the password
field, the username kept, the password never echoed; the strength hint is served as one
module from the theme, and the form works without it."""

import html
import re

import pytest

from auth_utils.rules.password_policy import MESSAGES, Rule


def signup(client, username, password):
    return client.post("/signup", data={"username": username, "password": password})


@pytest.mark.parametrize(
    ("username", "password", "rule"),
    [("alice", "Password123", Rule.COMMON), ("alice", "iloveyou!", Rule.COMMON),
     ("carol", "Carol1985!", Rule.USERNAME), ("carol", "carol-carol", Rule.USERNAME),
     ("alice", "MonorepoAuth2024", Rule.SITE), ("alice", "localhost:4321", Rule.SITE)],
)
def test_signup_refuses_with_the_rule_on_the_password_field(landing, db, username, password,
                                                             rule):
    r = signup(landing, username, password)
    page = html.unescape(r.text)
    assert r.status_code == 400 and "set-cookie" not in r.headers
    field = re.search(r'<p class="error" id="password-error">([^<]+)</p>', page)
    assert field and field.group(1) == MESSAGES[rule]
    assert 'aria-invalid="true"' in page and f'value="{username}"' in page
    assert password not in page and password.lower() not in page.lower()
    assert db.users.count_documents({}) == 0


def test_good_passwords_still_sign_up(landing, db):
    assert signup(landing, "carol", "carol password").status_code == 303
    landing.cookies.clear()
    assert signup(landing, "bob", "bob password!").status_code == 303
    assert db.users.count_documents({}) == 2


def test_signup_form_explains_the_rules_and_loads_the_strength_module(landing, db):
    page = html.unescape(landing.get("/signup").text)
    assert "Common passwords and ones made from your username or this site's name are " \
        "refused." in page
    script = re.search(r'<script type="module" src="(/static/password-strength\.'
                       r'[0-9a-f]{12}\.js)"></script>', page)
    assert script, "the strength hint module"
    hint = re.search(r'<p class="hint strength" id="password-strength" '
                     r'data-strength-for="password" data-strength-words="([^"]*)"', page)
    assert hint and set(hint.group(1).split()) == {"auth", "localhost", "monorepo"}
    r = landing.get(script.group(1))
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "<script>" not in page  # nothing inline (CSP script-src 'self')
    assert "password-strength" not in landing.get("/login").text  # only where one is chosen
