import pytest
from prometheus_client import REGISTRY
from starlette.testclient import TestClient

from devtools.testing import LANDING
from landing.app import create_app


def client_for(make_core, **limits):
    app = create_app(make_core(**limits))
    return TestClient(app, base_url=LANDING, headers={"Origin": LANDING},
                      follow_redirects=False)


@pytest.fixture
def throttled(db, make_core):
    with client_for(make_core, login_max_failures_per_user=3,
                    login_max_failures_per_ip=50, signup_max_per_ip=3) as client:
        yield client


def test_login_throttled_even_for_right_password(throttled, db, clock):
    throttled.post("/signup", data={"username": "alice", "password": "correct horse"})
    throttled.cookies.clear()
    for _ in range(3):
        r = throttled.post("/login", data={"username": "alice", "password": "wrong one!"})
        assert r.status_code == 400
    r = throttled.post("/login", data={"username": "ALICE", "password": "correct horse"})
    assert r.status_code == 429
    assert 0 < int(r.headers["retry-after"]) <= 900
    assert "Too many attempts" in r.text
    assert "set-cookie" not in r.headers
    clock.advance(seconds=int(r.headers["retry-after"]))
    r = throttled.post("/login", data={"username": "alice", "password": "correct horse"})
    assert r.status_code == 303


def test_signup_cap_per_ip(throttled, db):
    for n in range(3):
        throttled.cookies.clear()
        r = throttled.post("/signup", data={"username": f"user{n}", "password": "correct horse"})
        assert r.status_code == 303
    throttled.cookies.clear()
    r = throttled.post("/signup", data={"username": "user9", "password": "correct horse"})
    assert r.status_code == 429 and "retry-after" in r.headers
    assert db.users.count_documents({}) == 3


def test_counters_are_shared_between_processes_and_apps(db, make_core):
    """Two app instances (as two processes would) share the counts kept in MongoDB."""
    with client_for(make_core, login_max_failures_per_user=4) as one, \
            client_for(make_core, login_max_failures_per_user=4) as two:
        one.post("/signup", data={"username": "alice", "password": "correct horse"})
        for client in (one, two, one, two):
            client.cookies.clear()
            client.post("/login", data={"username": "alice", "password": "wrong one!"})
        for client in (one, two):
            r = client.post("/login", data={"username": "alice", "password": "correct horse"})
            assert r.status_code == 429


def test_forwarded_for_only_from_trusted_proxy(db, make_core):
    # TestClient connects from "testclient" (not an IP): X-Forwarded-For is never believed,
    # so a forged header cannot spread one attacker over many IP counters.
    with client_for(make_core, login_max_failures_per_ip=2,
                    login_max_failures_per_user=100) as client:
        for n in range(2):
            client.post("/login", data={"username": f"user{n}", "password": "wrong one!"},
                        headers={"X-Forwarded-For": f"203.0.113.{n}"})
        r = client.post("/login", data={"username": "user7", "password": "wrong one!"},
                        headers={"X-Forwarded-For": "198.51.100.7"})
        assert r.status_code == 429



def test_a_client_at_its_hashing_share_is_refused_before_its_body_is_read(make_core, db):
    """A flood from one address costs no form parsing, no thread and no database work
    once that address has its share of password checks in progress."""
    with client_for(make_core, hashing_max_per_client=2) as client:
        accounts = client.app.state.core.accounts
        gate, throttler = accounts.steps.gate, accounts.steps.throttler
        bucket = throttler.bucket("testclient")  # the address TestClient's requests have
        too_many_fields = {f"f{n}": "x" for n in range(20)}  # parsing it would answer 400
        with gate.admit(bucket), gate.admit(bucket):
            for path in ("/login", "/signup"):
                r = client.post(path, data=too_many_fields)
                assert r.status_code == 429, (path, r.status_code)
                assert r.headers["retry-after"] == "1"
        assert db.throttles.count_documents({}) == 0
        assert client.post("/login", data=too_many_fields).status_code == 400  # share back


def test_a_client_over_its_limit_is_refused_before_its_body_is_read(make_core, db):
    """Once this process has seen an address over its limit, its further log-ins (and,
    separately, sign-ups) cost no form parsing, no thread and no database round trip."""
    with client_for(make_core, login_max_failures_per_ip=2, signup_max_per_ip=1) as client:
        for _ in range(2):
            assert client.post("/login", data={"username": "bad name!", "password": "x"}
                               ).status_code == 400
        refused = client.post("/login", data={"username": "bad name!", "password": "x"})
        assert refused.status_code == 429
        too_many_fields = {f"f{n}": "x" for n in range(20)}  # parsing it would answer 400
        before = REGISTRY.get_sample_value("auth_early_refusals_total", {"reason": "over_limit"})
        r = client.post("/login", data=too_many_fields)
        assert r.status_code == 429, r.status_code
        # Counted for operators (docs/operations.md), though no event line is written.
        assert REGISTRY.get_sample_value("auth_early_refusals_total",
                                         {"reason": "over_limit"}) == (before or 0) + 1
        assert r.headers["retry-after"] == refused.headers["retry-after"]
        assert "Too many attempts" in r.text
        assert db.throttles.find_one({"_id": {"$regex": "^login-ip:"}})["count"] == 3
        # Sign-up has its own limit: not refused early until it is over it.
        assert client.post("/signup", data=too_many_fields).status_code == 400
        assert client.post("/signup", data={"username": "kate", "password": "correct horse"}
                           ).status_code == 303
        assert client.post("/signup", data={"username": "liam", "password": "correct horse"}
                           ).status_code == 429
        assert client.post("/signup", data=too_many_fields).status_code == 429


def test_an_early_refusal_page_is_rendered_once_and_carries_nothing_the_client_sent(
        make_core, db, monkeypatch):
    """The flood's answer costs no template work, and cannot be made to: the page does
    not depend on the query or the body."""
    from landing import views

    with client_for(make_core, hashing_max_per_client=1) as client:
        accounts = client.app.state.core.accounts
        renders = []
        render = views.templates.TemplateResponse
        monkeypatch.setattr(views.templates, "TemplateResponse",
                            lambda *a, **kw: renders.append(a[1]) or render(*a, **kw))
        with accounts.steps.gate.admit(accounts.steps.throttler.bucket("testclient")):
            pages = [client.post(f"/login?next=/x{n}", data={"username": f"u{n}"})
                     for n in range(5)]
        assert renders == ["login.html"]  # once, for the first refusal
        assert {r.status_code for r in pages} == {429}
        assert len({r.content for r in pages}) == 1
        assert "Too many attempts" in pages[0].text and "/x" not in pages[0].text
        assert all(r.headers["retry-after"] == "1" for r in pages)
        assert "Log in" in pages[0].text  # the form, empty, to try again later
