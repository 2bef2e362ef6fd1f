import os
import subprocess
import sys

import pytest

from devtools.testing import LANDING, csrf_token, wait_for


def test_anonymous_home_redirects_to_landing_login_with_full_url(web, db):
    r = web.get("/?tab=1")
    assert r.status_code == 302
    assert r["Location"] == f"{LANDING}/login?next=http%3A//localhost%3A3000/%3Ftab%3D1"
    assert db.sessions.count_documents({}) == 0
    assert "auth_session" not in r.cookies


def test_session_from_auth_utils_is_honoured(web, login_session):
    token, _, _ = login_session("alice")
    web.cookies["auth_session"] = token
    r = web.get("/")
    assert r.status_code == 200
    assert "Hello, alice!" in r.content.decode()
    assert r["Cache-Control"] == "no-store"
    assert 'action="/logout"' in r.content.decode()


def test_username_is_escaped(web, web_services, db):
    # A username can only hold [a-z0-9_-]; put a crafted one straight in the document.
    user = web_services.storage.users.create("<script>x</script>", "h",
                                             web_services.sessions.clock())
    token, _ = web_services.sessions.create_session(user.id, user.username)
    web.cookies["auth_session"] = token
    body = web.get("/").content.decode()
    assert "<script>x</script>" not in body
    assert "&lt;script&gt;x&lt;/script&gt;" in body


def test_logout_revokes_blanks_and_redirects(web, login_session, db):
    token, _, session = login_session()
    web.cookies["auth_session"] = token
    r = web.post("/logout", {"csrfmiddlewaretoken": csrf_token(web)})
    assert r.status_code == 303 and r["Location"] == LANDING
    assert db.sessions.count_documents({"_id": session.id}) == 0
    blank = r.cookies["auth_session"]
    assert blank.value == "" and blank["max-age"] == 0 and blank["path"] == "/"
    assert blank["httponly"] and blank["samesite"] == "Lax"
    web.cookies["auth_session"] = token  # replay the old cookie
    r = web.get("/")
    assert r.status_code == 302 and r["Location"].startswith(f"{LANDING}/login")


def test_logout_without_csrf_token_is_403(web, login_session, db):
    token, _, session = login_session()
    web.cookies["auth_session"] = token
    web.get("/")  # gets the CSRF cookie, but no token is sent
    r = web.post("/logout", {})
    assert r.status_code == 403 and b"expired" in r.content
    assert db.sessions.count_documents({"_id": session.id}) == 1


def test_logout_from_foreign_origin_is_403(web, login_session, db):
    token, _, session = login_session()
    web.cookies["auth_session"] = token
    r = web.post("/logout", {"csrfmiddlewaretoken": csrf_token(web)},
                 headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = web.post("/logout", {"csrfmiddlewaretoken": csrf_token(web)}, HTTP_ORIGIN="")
    assert r.status_code == 403  # neither Origin nor Referer
    assert db.sessions.count_documents({"_id": session.id}) == 1


def test_expired_tampered_and_huge_cookies_are_logged_out(web, login_session, clock):
    token, _, _ = login_session()
    for value in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 5000, "%%", "a;b"):
        web.cookies["auth_session"] = value
        r = web.get("/")
        assert r.status_code == 302, value
    web.cookies["auth_session"] = token
    clock.advance(days=30)
    r = web.get("/")
    assert r.status_code == 302
    assert r.cookies["auth_session"].value == ""


def test_renewal_resends_cookie(web, login_session, clock):
    token, _, _ = login_session()
    web.cookies["auth_session"] = token
    clock.advance(days=20)
    r = web.get("/")
    assert r.status_code == 200
    assert r.cookies["auth_session"].value == token
    assert r.cookies["auth_session"]["max-age"] == 30 * 24 * 3600


def test_healthz_and_security_headers(web, db):
    r = web.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in r["Content-Security-Policy"]
    assert r["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in r


def test_error_pages_have_no_traceback(web, db):
    r = web.get("/no-such-page")
    assert r.status_code == 404 and b"There is no page" in r.content
    r = web.post("/logout", "x" * 70_000, content_type="text/plain")
    assert r.status_code == 413
    r = web.get("/logout")
    assert r.status_code == 405


def test_database_down_gives_503(web, login_session, database_server):
    token, _, _ = login_session()
    web.cookies["auth_session"] = token
    database_server.stop()
    try:
        r = web.get("/")
        assert r.status_code == 503 and b"cannot reach our database" in r.content
        assert web.get("/healthz").status_code == 503
    finally:
        database_server.start()
    # Recovers by itself once its probe sees the database (every 0.25 s).
    assert wait_for(lambda: web.get("/").status_code == 200, 2.0)


def _manage(*args, **env):
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "web.settings", **env}
    return subprocess.run([sys.executable, "-m", "web", *args], env=full,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_in_production():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", APP_ENV="production",
                     DJANGO_SECRET_KEY="p" * 20 + "-Zq8#rT!x2@Lm9$wQ4&nB7^vC1*kJ5%hG3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("secret", ["", "dev-insecure-local-key-do-not-use-in-production"])
def test_production_refuses_to_start_without_secret(secret):
    result = _manage("check", APP_ENV="production", DJANGO_SECRET_KEY=secret)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings():
    code = ("import django;django.setup();from django.conf import settings as s;"
            "print(s.DEBUG, s.SECURE_HSTS_SECONDS, s.CSRF_COOKIE_SECURE)")
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "web.settings", "APP_ENV": "production",
            "DJANGO_SECRET_KEY": "k" * 60}
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.split() == ["False", "31536000", "True"], out.stderr


def test_unexpected_error_is_a_friendly_500_page(web, login_session):
    import sys
    import types

    from django.test import override_settings
    from django.urls import path

    def boom(request):
        raise RuntimeError("secret internals")

    urls = types.ModuleType("web_test_boom_urls")
    urls.urlpatterns = [path("boom", boom)]
    urls.handler500 = "web.errors.server_error"
    sys.modules[urls.__name__] = urls
    token, _, _ = login_session()
    web.cookies["auth_session"] = token
    try:
        with override_settings(ROOT_URLCONF=urls.__name__):
            r = web.get("/boom")
    finally:
        del sys.modules[urls.__name__]
    assert r.status_code == 500 and b"Something went wrong" in r.content
    assert b"secret internals" not in r.content and b"Traceback" not in r.content
    assert r["X-Content-Type-Options"] == "nosniff"
