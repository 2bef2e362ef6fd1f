"""A session kept alive past its absolute lifetime (ASVS 5.0 7.3.2) is logged out in the
web app, which sends the visitor to log in again with the reason; the landing log-in page
then says why."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit


def test_kept_alive_session_ends_at_the_max_and_the_login_page_says_why(
        web, web_services, login_session, clock, db):
    token, _, session = login_session("alice")
    web.cookies["auth_session"] = token
    end = session.created_at + timedelta(days=90)
    while clock.now + timedelta(days=15) < end:  # used every 15 days: renewed each time
        clock.advance(days=15, hours=1)
        r = web.get("/")
        assert r.status_code == 200
        if "auth_session" in r.cookies:  # renewed: the cookie never outlives the end
            assert r.cookies["auth_session"]["max-age"] <= (end - clock.now).total_seconds()
    clock.now = end
    r = web.get("/account")
    assert r.status_code == 302
    location = urlsplit(r["Location"])
    assert location.path == "/login"
    query = parse_qs(location.query)
    assert query["reason"] == ["session-ended"]
    assert query["next"] == ["http://localhost:3000/account"]
    assert r.cookies["auth_session"]["max-age"] == 0  # logged out: blank cookie
    assert db.sessions.count_documents({"_id": session.id}) == 0
    # Any other way of being logged out carries no reason.
    r = web.get("/account")
    assert "reason=" not in r["Location"]


def test_an_idle_expiry_carries_no_reason(web, login_session, clock, db):
    token, _, _ = login_session("alice")
    web.cookies["auth_session"] = token
    clock.advance(days=31)
    r = web.get("/")
    assert r.status_code == 302 and "reason=" not in r["Location"]
