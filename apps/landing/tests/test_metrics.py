"""`/metrics` on the landing app: counters that move with traffic; 404 for others."""

from starlette.testclient import TestClient

from devtools.testing import LANDING, metric_value

LOGIN_OK = 'auth_security_events_total{kind="login",outcome="success"}'
LOGIN_FAILED = 'auth_security_events_total{kind="login_failed",outcome="failure"}'


def test_landing_metrics_move_with_traffic_and_hide_from_others(landing_app, db):
    with TestClient(landing_app, base_url=LANDING, headers={"Origin": LANDING},
                    follow_redirects=False, client=("127.0.0.1", 5000)) as local:
        before = local.get("/metrics")
        assert before.status_code == 200
        assert before.headers["content-type"].startswith("text/plain")
        local.post("/signup", data={"username": "metric", "password": "correct horse"})
        local.cookies.clear()
        local.post("/login", data={"username": "metric", "password": "correct horse"})
        local.cookies.clear()
        local.post("/login", data={"username": "nobody-at-all", "password": "correct horse"})
        after = local.get("/metrics").text
    for series in (LOGIN_OK, LOGIN_FAILED):  # the unknown name is counted, never stored
        assert metric_value(after, series) == metric_value(before.text, series) + 1, series
    assert 'http_request_duration_seconds_count{app="landing",method="POST",route="login"}' \
        in after
    assert "auth_password_hash_seconds_count" in after
    with TestClient(landing_app, base_url=LANDING, client=("203.0.113.9", 5000)) as outside:
        r = outside.get("/metrics")
        assert r.status_code == 404 and "auth_" not in r.text
