import pytest

from auth_utils import is_allowed_origin, safe_next_url

ALLOWED = {"http://localhost:4321", "http://localhost:3000"}
DEFAULT = "http://localhost:3000"


def test_origin_header_decides():
    assert is_allowed_origin("http://localhost:4321", None, ALLOWED)
    assert is_allowed_origin("http://LOCALHOST:3000", "https://evil.example/", ALLOWED)
    assert not is_allowed_origin("https://evil.example", "http://localhost:4321/", ALLOWED)
    assert not is_allowed_origin("null", None, ALLOWED)
    assert not is_allowed_origin("http://localhost:4322", None, ALLOWED)


def test_referer_when_no_origin_and_neither_refused():
    assert is_allowed_origin(None, "http://localhost:4321/login?x=1", ALLOWED)
    assert not is_allowed_origin(None, "http://evil.example/", ALLOWED)
    assert not is_allowed_origin(None, None, ALLOWED)
    assert not is_allowed_origin("", "", ALLOWED)
    assert not is_allowed_origin(None, "http://localhost:99999/", ALLOWED)


@pytest.mark.parametrize(
    "value",
    ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)",
     "http://localhost:3000@evil.example/", "http://user@localhost:3000/", "\\\\evil",
     "/\tevil", "http://localhost:9999/", "ftp://localhost:3000/", "", None, "http:evil",
     "data:text/html,x", "/ok\r\nSet-Cookie: x=1", "x" * 3000],
)
def test_hostile_next_falls_back(value):
    assert safe_next_url(value, ALLOWED, DEFAULT) == DEFAULT


@pytest.mark.parametrize(
    "value", ["http://localhost:3000/account", "http://localhost:4321/"]
)
def test_allowed_next_is_followed(value):
    assert safe_next_url(value, ALLOWED, DEFAULT) == value


@pytest.mark.parametrize("value", ["/", "/account?tab=1"])
def test_relative_next_resolves_on_web_url(value):
    # The user is going to the web app: `/account` must not end on landing's 404.
    assert safe_next_url(value, ALLOWED, DEFAULT) == DEFAULT + value
