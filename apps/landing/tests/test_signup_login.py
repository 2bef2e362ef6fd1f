import re

import pytest

from db_utils import User
from devtools.testing import WEB


def signup(client, username="alice", password="correct horse", **kw):
    return client.post("/signup", data={"username": username, "password": password}, **kw)


def test_signup_sets_cookie_with_every_attribute_and_redirects(landing, db):
    r = signup(landing, "  Alice ")
    assert r.status_code == 303 and r.headers["location"] == WEB
    cookie = r.headers["set-cookie"]
    token = re.match(r"auth_session=([A-Za-z0-9_-]{43}); ", cookie).group(1)
    parts = cookie.split("; ")
    assert "Max-Age=2592000" in parts and "Path=/" in parts and "HttpOnly" in parts
    assert "SameSite=Lax" in parts and any(p.startswith("Expires=") for p in parts)
    assert "Secure" not in parts and not any(p.startswith("Domain=") for p in parts)
    assert r.headers["cache-control"] == "no-store"
    user = User._get_collection().find_one({"username": "alice"})
    assert user["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert db.sessions.count_documents({"user_id": user["_id"]}) == 1
    assert token not in str(list(db.sessions.find()))


def test_duplicate_username_any_case_is_409_and_keeps_username(landing, db):
    signup(landing)
    landing.cookies.clear()
    r = signup(landing, "ALICE", "another password")
    assert r.status_code == 409
    assert "That username is taken." in r.text
    assert 'value="alice"' in r.text
    assert "another password" not in r.text
    assert db.users.count_documents({}) == 1


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [("ab", "correct horse", "Username must be 3 to 31 characters long."),
     ("bad name", "correct horse", "Username may only contain"),
     ("alice", "short", "Password must be 8 to 255 characters long."),
     ("alice", "", "Enter a password.")],
)
def test_invalid_signup_is_400_with_message(landing, db, username, password, message):
    r = signup(landing, username, password)
    assert r.status_code == 400 and message in r.text
    assert "set-cookie" not in r.headers
    if username == "alice":
        assert 'value="alice"' in r.text
    assert db.users.count_documents({}) == 0


def test_login_success_and_same_message_for_unknown_and_wrong(landing, db):
    signup(landing)
    landing.cookies.clear()
    ok = landing.post("/login", data={"username": "Alice", "password": "correct horse"})
    assert ok.status_code == 303 and ok.headers["location"] == WEB
    assert ok.headers["set-cookie"].startswith("auth_session=")
    landing.cookies.clear()
    wrong = landing.post("/login", data={"username": "alice", "password": "wrong horse"})
    unknown = landing.post("/login", data={"username": "nobody", "password": "wrong horse"})
    for r in (wrong, unknown):
        assert r.status_code == 400
        assert "Incorrect username or password" in r.text
        assert "set-cookie" not in r.headers


def test_login_revokes_the_session_it_arrived_with(landing, db):
    signup(landing)
    old = landing.cookies["auth_session"]
    r = landing.post("/login", data={"username": "alice", "password": "correct horse"})
    assert r.status_code == 303
    new = landing.cookies["auth_session"]
    assert new != old
    assert db.sessions.count_documents({}) == 1


def test_logged_in_visitor_is_sent_to_web(landing, db):
    signup(landing)
    for path in ("/", "/login", "/signup"):
        r = landing.get(path)
        assert r.status_code == 303 and r.headers["location"] == WEB, path
        assert r.headers["cache-control"] == "no-store"


def test_next_to_allowed_origin_is_followed(landing, db):
    target = f"{WEB}/account"
    r = landing.post(f"/signup?next={target}", data={"username": "alice",
                                                      "password": "correct horse"})
    assert r.headers["location"] == target
    r = landing.get("/login", params={"next": "/somewhere"})
    assert r.status_code == 303 and r.headers["location"] == f"{WEB}/somewhere"


@pytest.mark.parametrize(
    "hostile", ["//evil.example", "/\\evil.example", "https://evil.example",
                "javascript:alert(1)"],
)
def test_hostile_next_falls_back_to_web(landing, db, hostile):
    r = landing.post("/signup", params={"next": hostile},
                     data={"username": "alice", "password": "correct horse"})
    assert r.status_code == 303 and r.headers["location"] == WEB
    landing.cookies.clear()
    r = landing.post("/login", data={"username": "alice", "password": "correct horse",
                                     "next": hostile})
    assert r.headers["location"] == WEB
    assert landing.get("/", params={"next": hostile}).headers["location"] == WEB


def test_next_is_carried_through_the_form(landing, db):
    r = landing.get("/login", params={"next": f"{WEB}/account"})
    assert r.status_code == 200
    assert f'name="next" value="{WEB}/account"' in r.text


def test_forms_are_accessible_and_mirror_rules(landing, db):
    signup_page = landing.get("/signup").text
    assert '<label for="username">' in signup_page and '<label for="password">' in signup_page
    assert 'autocomplete="username"' in signup_page
    assert 'autocomplete="new-password"' in signup_page
    assert 'minlength="3"' in signup_page and 'maxlength="31"' in signup_page
    assert 'minlength="8"' in signup_page and 'maxlength="255"' in signup_page
    assert "pattern=" in signup_page
    assert 'autocomplete="current-password"' in landing.get("/login").text


def test_anonymous_requests_create_no_session(landing, db):
    for path in ("/", "/login", "/signup", "/healthz"):
        r = landing.get(path)
        assert "set-cookie" not in r.headers
    assert db.sessions.count_documents({}) == 0


def test_token_in_query_or_header_is_ignored(landing, db):
    signup(landing)
    token = landing.cookies["auth_session"]
    landing.cookies.clear()
    assert landing.get("/", params={"auth_session": token}).status_code == 200
    assert landing.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_invalid_cookie_gets_blank_cookie(landing, db):
    r = landing.get("/", headers={"Cookie": "auth_session=" + "A" * 43})
    assert r.status_code == 200
    assert r.headers["set-cookie"].startswith("auth_session=; Max-Age=0")


def test_renewed_session_cookie_is_resent(landing, db, clock):
    signup(landing)
    clock.advance(days=16)
    r = landing.get("/")
    assert r.status_code == 303
    assert "Max-Age=2592000" in r.headers["set-cookie"]
