"""Property-based fuzzing of the landing app in-process (hypothesis)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from devtools.testing import LANDING, WEB, assert_only_valid_users, assert_redirect_stays_home

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200)
values = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["alice", "Alice ", "a\x00b", "\ufeffalice", "\uff41\uff4c\uff49\uff43\uff45",
                     "correct horse", "//evil.example", "/\\evil.example",
                     "javascript:alert(1)", "https://evil.example", f"{WEB}/x"]),
    st.integers(0, 70_000).map(lambda n: "p" * n),
)
forms = st.dictionaries(st.sampled_from(["username", "password", "next", "extra"]), values,
                        max_size=4)
origins = st.sampled_from([LANDING, WEB, "https://evil.example", "null", None])
content_types = st.sampled_from([
    None, "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz",
    "application/json", "text/plain", "application/x-www-form-urlencoded; charset=latin-1",
])


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "HEAD", "PUT"]),
    path=st.sampled_from(["/", "/signup", "/login", "/healthz", "/nope", "/static/style.css"]),
    form=forms,
    raw=st.one_of(st.none(), st.binary(max_size=500)),
    content_type=content_types,
    next_param=st.one_of(st.none(), values),
    origin=origins,
    cookie=st.one_of(st.none(), header_text),
    forwarded=st.one_of(st.none(), header_text),
)
def test_landing_never_fails(landing_app, db, method, path, form, raw, content_type,
                             next_param, origin, cookie, forwarded):
    headers = {}
    if origin:
        headers["Origin"] = origin
    if cookie is not None:
        headers["Cookie"] = f"auth_session={cookie}"
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    if content_type:
        headers["Content-Type"] = content_type
    params = {"next": next_param[:3000]} if next_param is not None else None
    with TestClient(landing_app, base_url=LANDING, raise_server_exceptions=False,
                    follow_redirects=False) as client:
        if method == "POST" and raw is None:
            r = client.request(method, path, params=params, data=form, headers=headers)
        else:
            r = client.request(method, path, params=params, content=raw, headers=headers)
    assert r.status_code < 500 or (path == "/healthz" and r.status_code == 503), r.text[:500]
    assert "Traceback" not in r.text
    assert_redirect_stays_home(r.status_code, r.headers.get("location"))
    assert_only_valid_users(db)
