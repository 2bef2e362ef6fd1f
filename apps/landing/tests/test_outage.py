def test_healthz_follows_the_database(landing, db, database_server):
    assert landing.get("/healthz").json() == {"status": "ok"}
    landing.post("/signup", data={"username": "alice", "password": "correct horse"})
    database_server.stop()
    try:
        r = landing.get("/healthz")
        assert r.status_code == 503 and r.json() == {"status": "unavailable"}
        page = landing.get("/")  # carries the session cookie: needs the database
        assert page.status_code == 503 and "cannot reach our database" in page.text
        assert "Traceback" not in page.text
        landing.cookies.clear()
        r = landing.post("/login", data={"username": "alice", "password": "correct horse"})
        assert r.status_code == 503
    finally:
        database_server.start()
    assert landing.get("/healthz").status_code == 200
    r = landing.post("/login", data={"username": "alice", "password": "correct horse"})
    assert r.status_code == 303
