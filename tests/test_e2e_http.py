"""The shared login across both apps, running as real server processes, over HTTP."""

from __future__ import annotations

import re

import httpx
import pytest

from devtools.testing import csrf_token

pytestmark = pytest.mark.e2e


def browser_like(system) -> httpx.Client:
    return httpx.Client(follow_redirects=False, timeout=10)


def post(client, url, data, origin):
    return client.post(url, data=data, headers={"Origin": origin})


def csrf(client, url):
    return csrf_token(client, url)


def test_journey_signup_web_logout_replay_login(live_system, db):
    L, W = live_system.landing_url, live_system.web_url
    with browser_like(live_system) as client:
        r = post(client, f"{L}/signup", {"username": "Alice", "password": "correct horse"}, L)
        assert r.status_code == 303 and r.headers["location"] == W
        token = client.cookies["auth_session"]

        r = client.get(r.headers["location"])
        assert r.status_code == 200 and "Hello, alice!" in r.text

        r = post(client, f"{W}/logout", {"csrfmiddlewaretoken": csrf(client, W)}, W)
        assert r.status_code == 303 and r.headers["location"] == L
        assert "auth_session" not in client.cookies

        r = client.get(f"{W}/")
        assert r.status_code == 302
        assert r.headers["location"].startswith(f"{L}/login?next=")
        assert client.get(r.headers["location"]).status_code == 200

        # The old cookie replayed to either app is refused.
        for url, expected in ((f"{W}/", 302), (f"{L}/", 200)):
            replay = client.get(url, headers={"Cookie": f"auth_session={token}"})
            assert replay.status_code == expected
            blank = replay.headers.get("set-cookie", "")
            assert re.match(r'auth_session=(""|);', blank) and "Max-Age=0" in blank

        r = post(client, f"{L}/login", {"username": "alice", "password": "correct horse"}, L)
        assert r.status_code == 303
        assert client.get(f"{W}/").status_code == 200
        assert client.get(f"{L}/").status_code == 303  # logged in: sent to web


def test_next_brings_the_user_back_to_the_page_asked_for(live_system, db):
    L, W = live_system.landing_url, live_system.web_url
    with browser_like(live_system) as client:
        r = client.get(f"{W}/?tab=sessions")
        login_url = r.headers["location"]
        next_value = httpx.URL(login_url).params["next"]
        assert next_value == f"{W}/?tab=sessions"
        r = post(client, f"{L}/signup?next={httpx.QueryParams({'x': next_value})['x']}",
                 {"username": "bob", "password": "correct horse"}, L)
        assert r.headers["location"] == next_value


def test_session_renewed_by_web_is_accepted_by_landing(live_system, db):
    """Age a session in the database until renewal is due; web renews it, landing accepts."""
    from datetime import timedelta

    L, W = live_system.landing_url, live_system.web_url
    with browser_like(live_system) as client:
        post(client, f"{L}/signup", {"username": "carol", "password": "correct horse"}, L)
        session = db.sessions.find_one({})
        old_expiry = session["expires_at"] - timedelta(days=20)
        db.sessions.update_one({"_id": session["_id"]}, {"$set": {"expires_at": old_expiry}})
        r = client.get(f"{W}/")
        assert r.status_code == 200
        assert "Max-Age=2592000" in r.headers["set-cookie"] or \
            "Max-Age=2591999" in r.headers["set-cookie"]
        renewed = db.sessions.find_one({"_id": session["_id"]})["expires_at"]
        assert renewed > old_expiry + timedelta(days=19)
        r = client.get(f"{L}/")
        assert r.status_code == 303 and r.headers["location"] == W


def test_logout_on_landing_session_is_refused_by_web_at_once(live_system, db):
    L, W = live_system.landing_url, live_system.web_url
    with browser_like(live_system) as a, browser_like(live_system) as b:
        post(a, f"{L}/signup", {"username": "dave", "password": "correct horse"}, L)
        post(b, f"{L}/login", {"username": "dave", "password": "correct horse"}, L)
        assert a.get(f"{W}/").status_code == b.get(f"{W}/").status_code == 200
        post(a, f"{W}/logout", {"csrfmiddlewaretoken": csrf(a, W)}, W)
        assert a.get(f"{W}/").status_code == 302
        assert b.get(f"{W}/").status_code == 200  # another device stays logged in


def test_production_servers_run_as_documented(database_server, test_environment, tmp_path):
    """docs/deploy.md: gunicorn for web, uvicorn --factory for landing, APP_ENV=production."""
    import os
    import subprocess
    import sys

    from devtools.dbserver import free_port
    from devtools.processes import wait_until_answers

    wp, lp = free_port(), free_port()
    env = {**os.environ, "APP_ENV": "production", "DJANGO_SECRET_KEY": "s" * 60,
           "MONGO_URI": database_server.uri, "WEB_URL": f"http://localhost:{wp}",
           "LANDING_URL": f"http://localhost:{lp}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    bindir = os.path.dirname(sys.executable)
    procs = [
        subprocess.Popen([f"{bindir}/gunicorn", "web.wsgi:application", "--bind",
                          f"127.0.0.1:{wp}", "--workers", "2"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([f"{bindir}/uvicorn", "landing.app:create_app", "--factory",
                          "--host", "127.0.0.1", "--port", str(lp), "--workers", "2"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        assert wait_until_answers(f"http://127.0.0.1:{wp}/healthz", 60)
        assert wait_until_answers(f"http://127.0.0.1:{lp}/healthz", 60)
        # /healthz stays on plain HTTP for load balancers; pages go to HTTPS.
        assert httpx.get(f"http://localhost:{wp}/healthz").status_code == 200
        r = httpx.get(f"http://localhost:{wp}/")
        assert r.status_code == 301 and r.headers["location"].startswith("https://")
        landing = httpx.get(f"http://localhost:{lp}/")
        assert landing.status_code == 200
        assert "max-age=31536000" in landing.headers["strict-transport-security"]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(15)


def test_password_change_logs_out_other_clients_in_both_apps(live_system, db):
    L, W = live_system.landing_url, live_system.web_url
    with browser_like(live_system) as a, browser_like(live_system) as b:
        post(a, f"{L}/signup", {"username": "erin", "password": "correct horse"}, L)
        post(b, f"{L}/login", {"username": "erin", "password": "correct horse"}, L)
        r = post(a, f"{W}/account/password", {
            "csrfmiddlewaretoken": csrf(a, f"{W}/account"), "current_password": "correct horse",
            "new_password": "brand new pass", "confirm_password": "brand new pass"}, W)
        assert r.status_code == 303
        assert a.get(f"{W}/").status_code == 200 and a.get(f"{L}/").status_code == 303
        assert b.get(f"{W}/").status_code == 302  # web: sent to log in
        assert b.get(f"{L}/").status_code == 200  # landing: anonymous again
        b.cookies.clear()
        r = post(b, f"{L}/login", {"username": "erin", "password": "correct horse"}, L)
        assert r.status_code == 400
        r = post(b, f"{L}/login", {"username": "erin", "password": "brand new pass"}, L)
        assert r.status_code == 303
