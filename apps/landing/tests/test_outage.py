"""The landing app through a database crash: 503 pages (at once once the outage is
known), then recovery without a restart."""

import time

from devtools.testing import wait_for


def test_healthz_follows_the_database(landing, db, database_server):
    assert landing.get("/healthz").json() == {"status": "ok"}
    landing.post("/signup", data={"username": "alice", "password": "correct horse"})
    database_server.kill()
    try:
        r = landing.get("/healthz")
        assert r.status_code == 503 and r.json() == {"status": "unavailable"}
        page = landing.get("/")  # carries the session cookie: needs the database
        assert page.status_code == 503 and "cannot reach our database" in page.text
        assert "Traceback" not in page.text
        landing.cookies.clear()
        r = landing.post("/login", data={"username": "alice", "password": "correct horse"})
        assert r.status_code == 503
        # Known down: a sign-up is refused before it waits for the hasher or the driver.
        start = time.monotonic()
        r = landing.post("/signup", data={"username": "bob", "password": "correct horse"})
        assert r.status_code == 503 and time.monotonic() - start < 0.5
    finally:
        database_server.start()
    assert wait_for(lambda: landing.get("/healthz").status_code == 200, 2.0)
    r = landing.post("/login", data={"username": "alice", "password": "correct horse"})
    assert r.status_code == 303
    assert db.users.count_documents({"username": "bob"}) == 0
