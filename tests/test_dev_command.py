"""`uv run dev`: everything starts, both URLs answer, Ctrl-C leaves nothing behind;
a taken port or an unreachable database is one clear line and a non-zero exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devtools.testing import TEST_ENV

pytestmark = pytest.mark.e2e


def dev_env(**overrides: str) -> dict[str, str]:
    from devtools.dbserver import free_port

    env = {**os.environ, **TEST_ENV, "APP_ENV": "test",
           "MONGO_URI": f"mongodb://127.0.0.1:{free_port()}/monorepo_auth"
                        "?retryWrites=false&directConnection=true",
           "LANDING_URL": f"http://localhost:{free_port()}",
           "WEB_URL": f"http://localhost:{free_port()}", **overrides}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def dev(env, cwd) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).with_name("dev"))], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def port_free(url: str) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", httpx.URL(url).port)) != 0


def test_dev_starts_database_and_apps_and_stops_cleanly(tmp_path):
    env = dev_env()
    started = time.monotonic()
    proc = dev(env, tmp_path)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if "dev: ready" in line:
                break
        ready_after = time.monotonic() - started
        output = "".join(lines)
        assert "dev: ready" in output, output
        assert env["LANDING_URL"] in output and env["WEB_URL"] in output
        assert httpx.get(f"{env['LANDING_URL']}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{env['WEB_URL']}/").status_code == 302
        print(f"dev: both URLs answered {ready_after:.1f} s after start")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert proc.returncode == 0
    assert (tmp_path / ".data" / "db").is_dir()  # the local database kept its data here
    db_port = env["MONGO_URI"].split(":")[2].split("/")[0]
    for url in (env["LANDING_URL"], env["WEB_URL"], f"http://127.0.0.1:{db_port}"):
        assert port_free(url), f"{url} still answers after Ctrl-C"


def test_taken_port_is_one_clear_line(tmp_path):
    env = dev_env()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", httpx.URL(env["WEB_URL"]).port))
        holder.listen()
        proc = dev(env, tmp_path)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert out.strip().splitlines()[-1].startswith("dev: port ")
    assert "web app" in out and "WEB_URL" in out


def test_unreachable_database_is_one_clear_line(tmp_path):
    env = dev_env(MONGO_URI="mongodb://db.invalid:27017/x?serverSelectionTimeoutMS=500")
    proc = dev(env, tmp_path)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert out.strip() == ("dev: cannot reach the database at "
                           "mongodb://db.invalid:27017/x?serverSelectionTimeoutMS=500; check "
                           "MONGO_URI (or start it with `uv run db`)")
