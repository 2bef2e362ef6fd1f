"""The `auth.events` JSON lines reach a real app process's output (security round 3,
item 3): as in development (`python -m landing` / `python -m web`) and as production
serves the apps (uvicorn and gunicorn's ASGI worker, two workers each)."""

from __future__ import annotations

import json
import secrets

import httpx
import pytest

from devtools.testing import csrf_token, wait_for

pytestmark = pytest.mark.e2e


def event_lines(log_path, username: str) -> list[dict]:
    """The auth event lines of `username` in an app's log. Every line that carries an
    event must be a JSON object by itself (no prefix, nothing after it)."""
    found = []
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if '"event": "auth"' not in line:
            continue
        event = json.loads(line)  # the whole line, or this raises
        if event["username"] == username:
            found.append(event)
    return found


def kinds(log_path, username: str) -> list[tuple[str, str]]:
    return [(e["kind"], e["outcome"]) for e in event_lines(log_path, username)]


@pytest.mark.parametrize("system", ["live_system", "served_system"])
def test_log_in_failed_log_in_and_log_out_are_json_lines_in_the_apps_output(request, system):
    system = request.getfixturevalue(system)
    L, W = system.landing_url, system.web_url
    landing_log, web_log = (p.log_path for p in system.processes)
    name = f"ev{secrets.token_hex(4)}"
    password = f"pw-{secrets.token_hex(8)}"  # must never reach a log line
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        r = client.post(f"{L}/signup", data={"username": name, "password": password},
                        headers={"Origin": L})
        assert r.status_code == 303
        client.cookies.clear()
        r = client.post(f"{L}/login", data={"username": name, "password": "not the password"},
                        headers={"Origin": L})
        assert r.status_code == 400
        r = client.post(f"{L}/login", data={"username": name, "password": password},
                        headers={"Origin": L})
        assert r.status_code == 303
        r = client.post(f"{W}/logout", data={"csrfmiddlewaretoken": csrf_token(client, W)},
                        headers={"Origin": W})
        assert r.status_code == 303

    expected = [("signup", "success"), ("login_failed", "failure"), ("login", "success")]
    assert wait_for(lambda: kinds(landing_log, name) == expected, 10), \
        kinds(landing_log, name)
    assert wait_for(lambda: kinds(web_log, name) == [("logout", "success")], 10), \
        kinds(web_log, name)
    for event in event_lines(landing_log, name) + event_lines(web_log, name):
        assert event["ip"] == "127.0.0.1" and event["at"]
    for log in (landing_log, web_log):
        assert password not in log.read_text(encoding="utf-8", errors="replace")
