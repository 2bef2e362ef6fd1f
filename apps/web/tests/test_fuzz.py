"""Property-based fuzzing of the web app in-process (hypothesis, Django's test client)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.testing import LANDING, WEB, assert_only_valid_users, assert_redirect_stays_home

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE"]),
    path=st.sampled_from(["/", "/logout", "/healthz", "/account", "/nope", "/static/style.css"]),
    query=st.text(max_size=200),
    body=st.one_of(st.binary(max_size=400), st.integers(0, 70_000).map(lambda n: b"a=" + b"x" * n)),
    content_type=st.sampled_from(["application/x-www-form-urlencoded", "text/plain",
                                  "multipart/form-data; boundary=z", "application/json"]),
    origin=st.sampled_from([LANDING, WEB, "https://evil.example", None]),
    cookie=st.one_of(st.none(), header_text),
    valid_session=st.booleans(),
)
def test_web_never_fails(web, login_session, db, method, path, query, body, content_type,
                         origin, cookie, valid_session):
    from urllib.parse import quote

    headers = {"Origin": origin} if origin else {}
    if valid_session:
        if db.users.count_documents({"username": "fuzzer"}) == 0:
            token, _, _ = login_session("fuzzer")
            db.fuzz_tokens.insert_one({"token": token})
        headers["Cookie"] = "auth_session=" + db.fuzz_tokens.find_one({})["token"]
    elif cookie is not None:
        headers["Cookie"] = f"auth_session={cookie}"
    web.cookies.clear()
    r = web.generic(method, f"{path}?next={quote(query)}", data=body,
                    content_type=content_type, headers=headers)
    assert r.status_code < 500 or (path == "/healthz" and r.status_code == 503)
    content = b"".join(r.streaming_content) if r.streaming else r.content
    assert b"Traceback" not in content
    assert_redirect_stays_home(r.status_code, r.headers.get("Location"))
    assert_only_valid_users(db)
