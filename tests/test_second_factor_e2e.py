"""The second factor across both apps, running as real server processes: a password
alone is a pending log-in that both apps treat as logged out; the code rotates the token.
(Codes are computed here from the secret the page shows, at the servers' real time.)"""

from __future__ import annotations

import time

import httpx
import pytest

from devtools.testing import csrf_token, enrol_totp, next_step_code, parallel, post

pytestmark = pytest.mark.e2e


def test_password_alone_is_logged_out_in_both_apps_until_the_code(live_system, db):
    L, W = live_system.landing_url, live_system.web_url
    with httpx.Client(follow_redirects=False, timeout=10) as me:
        assert post(me, f"{L}/signup", {"username": "totp_user", "password": "correct horse"},
                    L).status_code == 303
        secret, codes = enrol_totp(me, W)
        post(me, f"{W}/logout", {"csrfmiddlewaretoken": csrf_token(me, W)}, W)

        r = post(me, f"{L}/login?next={W}/account", {"username": "totp_user",
                                                      "password": "correct horse"}, L)
        assert r.status_code == 303 and r.headers["location"].startswith("/login/verify?next=")
        pending = me.cookies["auth_session"]
        r = me.get(f"{W}/account")  # the web app sends a pending visitor to the code page
        assert r.status_code == 302
        assert r.headers["location"].startswith(f"{L}/login/verify?next=")
        assert me.get(f"{L}/").status_code == 200  # landing: still a visitor
        assert me.get(f"{L}/login").status_code == 200
        r = me.get(f"{L}/login/verify?next={W}/account")
        assert r.status_code == 200 and 'autocomplete="one-time-code"' in r.text

        r = post(me, f"{L}/login/verify", {"code": "000000", "next": f"{W}/account"}, L)
        assert r.status_code == 400 and "not right" in r.text
        r = post(me, f"{L}/login/verify", {"code": next_step_code(secret),
                                            "next": f"{W}/account"}, L)
        assert r.status_code == 303 and r.headers["location"] == f"{W}/account"
        assert me.cookies["auth_session"] != pending  # rotated
        assert me.get(f"{W}/account").status_code == 200

        with httpx.Client(follow_redirects=False, timeout=10) as replay:
            cookie = {"Cookie": f"auth_session={pending}"}
            r = replay.get(f"{W}/account", headers=cookie)
            assert r.status_code == 302 and "/login?next=" in r.headers["location"]
            assert replay.get(f"{L}/login/verify", headers=cookie).status_code == 303

        # A recovery code, once.
        with httpx.Client(follow_redirects=False, timeout=10) as other:
            post(other, f"{L}/login", {"username": "totp_user", "password": "correct horse"}, L)
            r = post(other, f"{L}/login/verify", {"code": codes[0].lower()}, L)
            assert r.status_code == 303 and other.get(f"{W}/").status_code == 200
        with httpx.Client(follow_redirects=False, timeout=10) as third:
            post(third, f"{L}/login", {"username": "totp_user", "password": "correct horse"}, L)
            assert post(third, f"{L}/login/verify", {"code": codes[0]}, L).status_code == 400
    stored = db.second_factors.find_one({})
    assert secret not in str(stored) and codes[1] not in str(stored)


def test_five_wrong_codes_send_the_visitor_back_to_the_password(live_system, db):
    L, W = live_system.landing_url, live_system.web_url
    with httpx.Client(follow_redirects=False, timeout=10) as me:
        post(me, f"{L}/signup", {"username": "guesser", "password": "correct horse"}, L)
        enrol_totp(me, W)
        me.cookies.clear()
        post(me, f"{L}/login", {"username": "guesser", "password": "correct horse"}, L)
        statuses = [post(me, f"{L}/login/verify", {"code": f"{n:06d}"}, L).status_code
                    for n in range(5)]
        assert statuses == [400] * 5
        assert "auth_session" not in me.cookies  # blanked: the pending log-in ended
        assert me.get(f"{L}/login/verify").status_code == 303


def test_password_only_log_ins_from_both_workers_leave_the_owner_logged_in(served_system, db):
    """Security round 3, item 1, as it was found: 60 password-only log-ins (more than the
    cap of 50 sessions), in parallel, answered by two landing processes, while the owner
    browses. Every owner request afterwards, in every process of both apps, is still
    logged in (the old code ended the owner's session at the 51st)."""
    L, W = served_system.landing_url, served_system.web_url
    with httpx.Client(follow_redirects=False, timeout=30) as me:
        assert post(me, f"{L}/signup", {"username": "browsing_owner",
                                         "password": "correct horse"}, L).status_code == 303
        enrol_totp(me, W)
        assert me.get(f"{W}/").status_code == 200
        time.sleep(0.05)  # the owner's session is older than any of the attacker's

        def attack(_: int) -> tuple[int, ...]:
            statuses = []
            for _ in range(4):  # each without a cookie (one would end its own last try)
                with httpx.Client(follow_redirects=False, timeout=30) as attacker:
                    statuses.append(post(attacker, f"{L}/login", {
                        "username": "browsing_owner", "password": "correct horse"}, L
                    ).status_code)
            return tuple(statuses)

        results = parallel(15, attack)
        assert results == {(303,) * 4: 15}, results
        time.sleep(1)  # well past the session feed's lag: every process has caught up
        assert [me.get(f"{W}/").status_code for _ in range(6)] == [200] * 6
        assert [me.get(f"{L}/").status_code for _ in range(6)] == [303] * 6
    pending = db.sessions.count_documents({"username": "browsing_owner", "pending": True})
    assert pending == 10
