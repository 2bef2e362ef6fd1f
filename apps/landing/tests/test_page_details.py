"""What a person meets on the landing pages beyond the contract's status codes (issue 27):
code fields that accept recovery codes keep the letters on a phone's keyboard, a 429 says
how long to wait and what else works, and the code page says where the log-in stands."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pyotp

from theme.times import wait


def with_second_factor(core, name: str = "alice", password: str = "correct horse"):
    out = core.accounts.sign_up(name, password, ip="1")
    core.second_factor.start(out.session, out.user)
    secret = core.second_factor.status(out.user).enrolment.secret
    _, codes = core.second_factor.confirm(out.session, out.user,
                                          pyotp.TOTP(secret).at(core.sessions.clock()))
    return secret, codes


def input_tag(page: str, field_id: str) -> str:
    found = re.search(rf'<input[^>]*\bid="{field_id}"[^>]*>', page)
    assert found, f"no #{field_id} on the page"
    return found.group(0)


def pending_log_in(landing, landing_app):
    with_second_factor(landing_app.state.core)
    r = landing.post("/login", data={"username": "alice", "password": "correct horse"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login/verify")
    return r


def test_code_fields_that_take_recovery_codes_do_not_bring_up_a_number_pad(landing,
                                                                           landing_app):
    pending_log_in(landing, landing_app)
    for page in (landing.get("/login/verify").text,
                 landing.post("/login/verify", data={"code": "000000"}).text):
        tag = input_tag(page, "code")
        assert "inputmode" not in tag or 'inputmode="text"' in tag, tag
        assert 'autocapitalize="none"' in tag and "ABCD-EFGH" in page
    link = landing_app.state.core.recovery.link_for_operator("alice")
    page = landing.get(urlsplit(link).path).text
    assert "inputmode" not in input_tag(page, "code")


def throttled_client(make_core):
    from starlette.testclient import TestClient

    from devtools.testing import LANDING
    from landing.app import create_app

    return TestClient(create_app(make_core(login_max_failures_per_user=3,
                                           login_max_failures_per_ip=50)),
                      base_url=LANDING, headers={"Origin": LANDING}, follow_redirects=False)


def test_the_429_page_says_how_long_offers_the_way_back_and_blames_no_field(db, make_core):
    with throttled_client(make_core) as client:
        client.post("/signup", data={"username": "alice", "password": "correct horse"})
        client.cookies.clear()
        for _ in range(3):
            client.post("/login", data={"username": "alice", "password": "wrong one!"})
        r = client.post("/login", data={"username": "alice", "password": "correct horse"})
        assert r.status_code == 429
        # The window's end is what is left of it: "less than a minute" in its last one.
        assert f"Try again in {wait(int(r.headers['retry-after']))}." in r.text
        assert "a while" not in r.text
        assert 'aria-invalid="true"' not in r.text
        assert 'href="/password/reset"' in r.text.split('id="throttled-help"')[1]
        assert "passkey" in r.text.split('id="throttled-help"')[1].split("</p>")[0]
        assert input_tag(r.text, "username").count('value="alice"') == 1  # kept


def test_an_early_refusal_from_memory_also_says_how_long(db, make_core):
    from starlette.testclient import TestClient

    from devtools.testing import LANDING
    from landing.app import create_app

    app = create_app(make_core(login_max_failures_per_user=50, login_max_failures_per_ip=2))
    with TestClient(app, base_url=LANDING, headers={"Origin": LANDING},
                    follow_redirects=False) as client:
        answers = [client.post("/login", data={"username": f"u{n}", "password": "wrong one!"})
                   for n in range(5)]
        refused = [r for r in answers if r.status_code == 429]
        assert len(refused) >= 2
        for r in refused:
            assert re.search(r"Try again in (about \d+ minutes?|less than a minute)\.",
                             r.text) and "a while" not in r.text
            assert 'aria-invalid="true"' not in r.text


def test_the_code_page_says_whose_log_in_it_is_and_cancel_ends_it(landing, landing_app, db):
    with_second_factor(landing_app.state.core)
    before = {s["_id"] for s in db.sessions.find({})}
    r = landing.post("/login", data={"username": "alice", "password": "correct horse"})
    assert r.headers["location"].startswith("/login/verify")
    (pending_id,) = {s["_id"] for s in db.sessions.find({})} - before
    page = landing.get("/login/verify").text
    header = page.split("</header>")[0]
    assert "Sign up" not in header and ">Log in<" not in header
    assert "alice" in header
    assert re.search(r"Logging in as <strong>alice</strong>: one step left", page)
    assert 'formaction="/login/cancel"' in page and "formnovalidate" in page
    r = landing.post("/login/cancel", data={"next": "/account"})
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Faccount"
    blank = next(c for c in r.headers.get_list("set-cookie")
                 if c.startswith("auth_session="))
    assert "Max-Age=0" in blank
    assert db.sessions.find_one({"_id": pending_id}) is None  # ended server-side
    # ... and the owner's activity page says so: whoever stopped at the code knew the
    # password (issue 27: an event for a cancelled pending log-in).
    from auth_utils.services.activity import session_ref

    (event,) = db.security_events.find({"kind": "login_cancelled"})
    assert event.get("session_ref") == session_ref(pending_id), event
    landing.cookies.clear()
    r = landing.get("/login")
    assert r.status_code == 200 and "Sign up" in r.text.split("</header>")[0]


def test_cancel_never_ends_a_complete_session(landing, db):
    landing.post("/signup", data={"username": "bob", "password": "correct horse"})
    r = landing.post("/login/cancel", data={})
    assert r.status_code == 303 and "set-cookie" not in r.headers
    assert db.sessions.count_documents({}) == 1
    assert db.security_events.count_documents({"kind": "login_cancelled"}) == 0


def test_a_skip_link_and_the_current_page_marked_in_the_nav(landing):
    for path, current in (("/", '<a class="brand" href="/" aria-current="page">'),
                          ("/login", '<a href="/login" aria-current="page">Log in</a>'),
                          ("/signup", '<a class="button" href="/signup" aria-current="page">')):
        page = landing.get(path).text
        body = page.split("<body>")[1]
        assert body.lstrip().startswith('<a class="skip-link" href="#main">Skip to content</a>')
        assert '<main id="main"' in page
        assert page.count('aria-current="page"') == 1 and current in page, path


def test_a_success_notice_takes_the_focus(landing):
    page = landing.get("/login?done=reset").text
    assert re.search(r'<p class="notice" role="status" id="notice" tabindex="-1" autofocus>',
                     page)
    assert page.count("autofocus") == 1


def test_sign_up_shows_every_wrong_field_at_once(landing, db):
    r = landing.post("/signup", data={"username": "no spaces allowed", "password": "short",
                                      "email": "not an address"})
    assert r.status_code == 400
    page = r.text
    for field in ("username", "password"):
        tag = input_tag(page, field)
        assert 'aria-invalid="true"' in tag and f"{field}-error" in tag, tag
        assert re.search(rf'<p class="error" id="{field}-error">[^<]+</p>', page)
    # A summary that names them all takes the focus (one autofocus on the page).
    summary = re.search(r'<div class="alert" role="alert" id="form-error" tabindex="-1" '
                        r'autofocus>(.*?)</div>', page, re.S)
    assert summary, page
    assert summary.group(1).count("<li>") >= 2
    assert 'href="#username"' in summary.group(1) and 'href="#password"' in summary.group(1)
    assert page.count("autofocus") == 1
    assert db.users.count_documents({}) == 0


def test_sign_up_with_one_wrong_field_focuses_that_field(landing):
    r = landing.post("/signup", data={"username": "alice", "password": "short"})
    assert r.status_code == 400
    assert "autofocus" in input_tag(r.text, "password") and r.text.count("autofocus") == 1
    assert 'aria-invalid' not in input_tag(r.text, "username")
