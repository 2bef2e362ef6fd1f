"""The log-in page says why a session ended by age (SESSION_MAX_LIFETIME_DAYS), whether
the web app sent the visitor (`?reason=session-ended`) or the cookie arrives here."""

import html
from datetime import timedelta

ENDED = ("Your session ended 90 days after you logged in, as every session does; please "
         "log in again.")


def test_login_page_says_why_when_sent_by_the_web_app(landing, db):
    page = html.unescape(landing.get("/login?reason=session-ended&next=%2Faccount").text)
    notice = '<p class="notice" role="status" id="notice" tabindex="-1" autofocus>'
    assert f"{notice}{ENDED}</p>" in page
    assert ENDED not in html.unescape(landing.get("/login").text)
    assert ENDED not in html.unescape(landing.get("/login?reason=<b>x</b>").text)
    assert ENDED not in html.unescape(landing.get("/signup?reason=session-ended").text)


def test_login_page_says_why_for_a_cookie_past_its_end(landing, landing_app, clock, db):
    sessions = landing_app.state.core.sessions
    token, session = sessions.create_session("u1", "carol")
    end = session.created_at + timedelta(days=90)
    while clock.now + timedelta(days=15) < end:
        clock.advance(days=15, hours=1)
        assert sessions.validate_session_token(token).valid
    landing.cookies["auth_session"] = token
    clock.now = end
    r = landing.get("/login")
    assert r.status_code == 200 and ENDED in html.unescape(r.text)
    assert r.headers["set-cookie"].startswith("auth_session=;")  # logged out here too
