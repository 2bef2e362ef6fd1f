"""`/metrics` on the web app: only for allowed addresses."""


def test_web_metrics_only_for_allowed_addresses(web, login_session):
    token, _, _ = login_session()
    web.cookies["auth_session"] = token
    web.get("/")
    r = web.get("/metrics")  # the test client's REMOTE_ADDR is 127.0.0.1
    assert r.status_code == 200
    assert 'auth_session_validations_total{path="database"}' in r.content.decode()
    assert web.get("/metrics", REMOTE_ADDR="198.51.100.3").status_code == 404
