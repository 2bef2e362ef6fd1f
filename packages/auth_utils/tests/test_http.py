"""auth_utils.http decisions that have no other home in the tests."""

import pytest

from auth_utils.http import retry_url, skips_authentication


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
