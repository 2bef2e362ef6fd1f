"""auth_utils.http decisions that have no other home in the tests."""

import pytest

from auth_utils.http import login_location, retry_url, skips_authentication
from auth_utils.services.sessions import ENDED_BY_AGE, SessionValidation


@pytest.mark.parametrize(("path", "query", "expected"), [
    ("/", "", "/"),
    ("/login", "next=%2Faccount", "/login?next=%2Faccount"),
    ("//evil.example/x", "", "/evil.example/x"),
    ("/\\evil.example", "", "/evil.example"),
    ("", "", "/"),
    # Browsers drop tabs and newlines inside a URL: "/\t/evil.example" would be
    # "//evil.example", another host. A decoded %09 or %0A must stay encoded.
    ("/\t/evil.example", "", "/%09/evil.example"),
    ("/\n\\evil.example", "", "/%0A%5Cevil.example"),
    ("/a b%c", "", "/a%20b%25c"),
])
def test_retry_url_stays_on_this_site(path, query, expected):
    assert retry_url(path, query) == expected
    link = retry_url(path, query)
    assert not "".join(c for c in link if c not in "\t\n\r").startswith(("//", "/\\"))


def test_static_favicon_robots_and_health_skip_the_session():
    for path in ("/static/style.abc.css", "/favicon.ico", "/robots.txt", "/healthz"):
        assert skips_authentication(path)
    for path in ("/", "/account", "/login", "/statics"):
        assert not skips_authentication(path)


def test_where_someone_who_must_log_in_goes(core, settings):
    login = f"{settings.landing_url}/login?next=http%3A%2F%2Fweb%2Faccount"
    here = "http://web/account"
    assert core.accounts.register("alice", "correct horse battery").ok
    user = core.storage.users.by_username("alice")
    token, _ = core.sessions.create_session(user.id, "alice", pending=True)
    pending = core.sessions.validate_session_token(token)
    assert pending.pending
    assert login_location(None, settings, login, here) == login
    assert login_location(SessionValidation(None, None), settings, login, here) == login
    assert login_location(pending, settings, login, here) == \
        f"{settings.landing_url}/login/verify?next=http%3A%2F%2Fweb%2Faccount"
    assert login_location(ENDED_BY_AGE, settings, login, here) == f"{login}&reason=session-ended"
