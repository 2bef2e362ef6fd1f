import pytest

from devtools.testing import LANDING


def test_foreign_origin_is_403(landing, db):
    r = landing.post("/signup", data={"username": "alice", "password": "correct horse"},
                     headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "another site" in r.text
    assert db.users.count_documents({}) == 0


def test_no_origin_nor_referer_is_403_but_referer_alone_works(landing, db):
    data = {"username": "alice", "password": "correct horse"}
    landing.headers.pop("Origin")
    assert landing.post("/signup", data=data).status_code == 403
    r = landing.post("/signup", data=data, headers={"Referer": f"{LANDING}/signup"})
    assert r.status_code == 303


def test_body_over_64k_is_413(landing, db):
    r = landing.post("/signup", data={"username": "a", "password": "x" * 70_000})
    assert r.status_code == 413 and "64 KiB" in r.text

    def chunks():  # no Content-Length: the streamed size is counted
        for _ in range(20):
            yield b"x" * 4096

    r = landing.post("/login", content=chunks(),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


@pytest.mark.parametrize(
    "body",
    [{}, {"username": "alice"}, {"password": "correct horse"},
     {"username": "ali\x00ce", "password": "correct horse"},
     {"username": "alice", "password": "correct\x00horse"},
     {"username": "a" * 10_000, "password": "correct horse"},
     {"username": "alice", "password": "p" * 10_000},
     {"username": "\uff41\uff4c\uff49\uff43\uff45", "password": "correct horse"},
     {"username": "alice\u202e", "password": "correct horse"}],
)
@pytest.mark.parametrize("path", ["/signup", "/login"])
def test_bad_fields_are_400(landing, db, path, body):
    r = landing.post(path, data=body)
    assert r.status_code == 400, r.text
    assert "Traceback" not in r.text
    assert db.users.count_documents({}) == 0


@pytest.mark.parametrize("path", ["/signup", "/login"])
def test_non_utf8_bytes_are_400(landing, db, path):
    r = landing.post(path, content=b"username=al%ffice&password=pass%fe%fdword1",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    r = landing.post(path, content=b"username=alice&password=pass%fe%fdword1",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    assert db.users.count_documents({}) == 0


@pytest.mark.parametrize(
    ("content", "ctype"),
    [(b'{"username": "alice"}', "application/json"), (b"\x00\xff", "text/plain"),
     (b"--x\r\nbroken", "multipart/form-data; boundary=x"), (b"a=b", "")],
)
def test_wrong_content_type_is_4xx(landing, db, content, ctype):
    r = landing.post("/signup", content=content, headers={"Content-Type": ctype})
    assert 400 <= r.status_code < 500


def test_malformed_and_oversized_cookies_are_ignored(landing, db):
    for value in ("x" * 5000, "%%%", "\"quoted\"", "a" * 43 + ";"):
        landing.cookies.clear()
        r = landing.get("/", headers={"Cookie": f"auth_session={value}"})
        assert r.status_code == 200


def test_security_headers(landing, db):
    r = landing.get("/")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in r.headers


def test_unknown_path_and_method_give_pages(landing, db):
    r = landing.get("/nope")
    assert r.status_code == 404 and "There is no page" in r.text
    assert landing.put("/login").status_code == 405


def test_production_headers_and_cookie(make_core):
    from starlette.testclient import TestClient

    from landing.app import create_app

    with TestClient(create_app(make_core(app_env="production")), base_url=LANDING,
                    headers={"Origin": LANDING}, follow_redirects=False) as client:
        r = client.post("/signup", data={"username": "alice", "password": "correct horse"})
        assert r.headers["set-cookie"].startswith("__Secure-auth_session=")
        assert "; Secure" in r.headers["set-cookie"]
        assert "max-age=31536000" in r.headers["strict-transport-security"]


def test_unexpected_error_is_a_friendly_500_page(landing_app, db):
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def boom(request):
        raise RuntimeError("secret internals")

    landing_app.router.routes.append(Route("/boom", boom))
    with TestClient(landing_app, base_url=LANDING, raise_server_exceptions=False) as client:
        r = client.get("/boom")
    assert r.status_code == 500 and "Something went wrong" in r.text
    assert "secret internals" not in r.text and "Traceback" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff"


def test_head_never_processes_a_form(landing, db):
    """HEAD skips the Origin check (it is safe), so it must never log in or sign up."""
    data = {"username": "alice", "password": "correct horse"}
    assert landing.post("/signup", data=data).status_code == 303
    landing.cookies.clear()
    r = landing.request("HEAD", "/login", data=data, headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and "set-cookie" not in r.headers
    landing.headers.pop("Origin")
    r = landing.request("HEAD", "/signup", data={"username": "bob", "password": "correct horse"})
    assert r.status_code == 200 and db.users.count_documents({"username": "bob"}) == 0
    assert db.sessions.count_documents({}) == 1  # only the sign-up's


def test_plain_head_is_answered_like_get(landing, db):
    for path in ("/", "/login", "/signup", "/healthz"):
        get, head = landing.get(path), landing.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.content == b""


def test_kelvin_sign_does_not_log_in_as_kate(landing, db):
    data = {"username": "kate", "password": "correct horse"}
    assert landing.post("/signup", data=data).status_code == 303
    landing.cookies.clear()
    r = landing.post("/login", data={**data, "username": "\u212aate"})
    assert r.status_code == 400 and "set-cookie" not in r.headers
    r = landing.post("/signup", data={**data, "username": "\u212aATE"})
    assert r.status_code == 400 and db.users.count_documents({}) == 1


def test_hasher_saturated_is_503_with_retry_after_at_once(landing_app, db):
    from starlette.testclient import TestClient

    from auth_utils.rules.passwords import HashingGate

    gate = landing_app.state.core.accounts.steps.gate = HashingGate(1, max_wait=0.05)
    with gate.slot("someone else"), TestClient(
            landing_app, base_url=LANDING, headers={"Origin": LANDING}) as client:
        r = client.post("/login", data={"username": "alice", "password": "correct horse"},
                        follow_redirects=False)
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert "try again in a moment" in r.text
