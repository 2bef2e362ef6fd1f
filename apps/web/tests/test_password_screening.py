"""Changing the password is screened like sign-up (ASVS 5.0 6.2.4, 6.2.11): the rule on
the new-password field, the password never echoed, nothing changed."""

import html
import re

import pytest

from auth_utils.rules.password_policy import MESSAGES, Rule
from devtools.testing import csrf_token


@pytest.fixture
def alice(web, web_services, login_session):
    token, user, session = login_session("alice")
    web.cookies["auth_session"] = token
    return token, user, session


@pytest.mark.parametrize(
    ("new", "rule"),
    [("qwertyuiop", Rule.COMMON), ("Sunshine2025!", Rule.COMMON),
     ("Alice1990!", Rule.USERNAME), ("alice.monorepo", Rule.USERNAME),
     ("monorepo-auth", Rule.SITE)],
)
def test_change_password_refuses_with_the_rule_on_the_field(web, alice, web_services, db,
                                                            new, rule):
    _, user, _ = alice
    before = db.users.find_one({"_id": user.id})["password_hash"]
    r = web.post("/account/password", {
        "current_password": "correct horse", "new_password": new, "confirm_password": new,
        "csrfmiddlewaretoken": csrf_token(web, "/account")})
    page = html.unescape(r.content.decode())
    assert r.status_code == 400
    field = re.search(r'<p class="error" id="new-error">([^<]+)</p>', page)
    assert field and field.group(1) == MESSAGES[rule]
    assert new not in page and new.lower() not in page.lower()
    assert db.users.find_one({"_id": user.id})["password_hash"] == before
    assert web_services.accounts.log_in("alice", "correct horse", ip="1").ok


def test_account_page_explains_the_rules_and_loads_the_strength_module(web, alice):
    page = html.unescape(web.get("/account").content.decode())
    assert re.search(r'<script type="module" src="/static/password-strength\.[0-9a-f]{12}'
                     r'\.js"></script>', page)
    assert 'data-strength-for="new_password"' in page
    assert "Common passwords and ones made from your username or this site's name are " \
        "refused." in page
