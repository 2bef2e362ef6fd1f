"""`uv run landing` and `uv run web` behave like other command-line tools: `--help` prints
the wrapper's usage without starting a server, a bad argument is one line and exit 2, a
taken port is one clear line, and commands that cannot work here say what to use instead.

Every command runs with a short timeout in its own process group, which is killed (by its
id) if the command is still running at the end, so no server is ever left behind."""

from __future__ import annotations

import contextlib
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

BIN = Path(sys.executable).parent


def app_env(**overrides: str) -> dict[str, str]:
    from devtools.dbserver import free_port

    env = {**os.environ, **TEST_ENV, "LANDING_URL": f"http://localhost:{free_port()}",
           "WEB_URL": f"http://localhost:{free_port()}", **overrides}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def run(command: str, *args: str, env: dict[str, str], timeout: float = 60
        ) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen([str(BIN / command), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{command} {' '.join(args)}` still running after {timeout:.0f} s "
                    "(did it start a server?)")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def port_free(url: str) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", httpx.URL(url).port)) != 0


# --- landing ---------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_landing_help_prints_usage(flag):
    env = app_env()
    result = run("landing", flag, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: landing"), result.stdout
    assert "--reload" in result.stdout and "LANDING_URL" in result.stdout
    assert port_free(env["LANDING_URL"])


def test_landing_bad_argument_is_one_line():
    result = run("landing", "--bogus", env=app_env())
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "landing: unrecognized arguments: --bogus (see `landing --help`)"]


def test_landing_taken_port_is_one_clear_line():
    env = app_env()
    port = httpx.URL(env["LANDING_URL"]).port
    with socket.create_server(("127.0.0.1", port)):
        result = run("landing", env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"landing: port {port} (LANDING_URL {env['LANDING_URL']}) on 127.0.0.1 is already "
        "taken; stop what uses it or change LANDING_URL"]
    assert "Errno" not in result.stdout + result.stderr


@pytest.mark.e2e
def test_landing_runs_without_a_reloader_unless_asked():
    """One process (no reloader, even in development) that a single SIGTERM stops."""
    env = app_env(APP_ENV="development")
    proc = subprocess.Popen([str(BIN / "landing")], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{env['LANDING_URL']}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("landing did not answer")
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert children == [], f"landing started child processes: {children}"
        proc.terminate()
        assert proc.wait(20) in (0, -signal.SIGTERM)  # uvicorn re-raises it once stopped
        assert port_free(env["LANDING_URL"])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


# --- web -------------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_web_help_is_the_wrappers_usage(flag):
    env = app_env()
    result = run("web", flag, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: web [-h] [RUNSERVER OPTION ...]"), result.stdout
    assert "management command" in result.stdout and "auth-admin" in result.stdout
    assert port_free(env["WEB_URL"])


def test_web_help_lists_no_sql_user_commands():
    result = run("web", "help", env=app_env())
    assert result.returncode == 0, result.stderr
    assert "    check" in result.stdout and "    runserver" in result.stdout
    assert "createsuperuser" not in result.stdout and "changepassword" not in result.stdout
    assert "[auth]" not in result.stdout
    assert "`uv run auth-admin --help`" in result.stdout


def test_web_help_lists_only_commands_that_work():
    result = run("web", "help", env=app_env())
    assert result.returncode == 0, result.stderr
    listed = {line.strip() for line in result.stdout.splitlines() if line.startswith("    ")}
    assert listed == {"check", "diffsettings", "runserver", "shell"}
    assert "[contenttypes]" not in result.stdout
    result = run("web", "help", "--commands", env=app_env())
    assert result.stdout.split() == ["check", "diffsettings", "runserver", "shell"]


@pytest.mark.parametrize("args", [("migrate",), ("dbshell",), ("flush", "--no-input"),
                                  ("createcachetable",), ("help", "migrate")])
def test_web_commands_that_cannot_work_here_are_one_line(args):
    result = run("web", *args, env=app_env())
    assert result.returncode == 2
    assert result.stdout == ""
    name = args[-1] if args[0] == "help" else args[0]
    assert result.stderr.splitlines() == [
        f"web: `{name}` does not work here: this app keeps no SQL database, mail settings or "
        "translations of Django's (users and sessions are in MongoDB); `uv run web help` "
        "lists the commands that work"]


def test_web_unknown_command_is_one_line():
    result = run("web", "chek", env=app_env())
    assert result.returncode == 2 and result.stderr.splitlines() == [
        "web: unknown command `chek`; `uv run web help` lists the commands"]


def test_web_taken_port_is_one_clear_line():
    env = app_env()
    port = httpx.URL(env["WEB_URL"]).port
    with socket.create_server(("127.0.0.1", port)):
        result = run("web", "--noreload", env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"web: port {port} (WEB_URL {env['WEB_URL']}) on 127.0.0.1 is already taken; "
        "stop what uses it or change WEB_URL"]
    assert "Error: That port" not in result.stdout + result.stderr


@pytest.mark.parametrize(("args", "instead"), [
    (("createsuperuser",), "create-user"),
    (("changepassword", "alice"), "reset-link"),
    (("help", "createsuperuser"), "create-user"),
])
def test_web_sql_user_commands_point_to_auth_admin(args, instead):
    result = run("web", *args, env=app_env())
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"web: {args[-1] if args[0] == 'help' else args[0]} needs Django's SQL user model, "
        f"which this app does not use; use `uv run auth-admin {instead}`"]


def test_web_check_deploy_in_development_is_one_line():
    result = run("web", "check", "--deploy", env=app_env(APP_ENV="development"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "web: `check --deploy` checks the production settings; this is APP_ENV=development: "
        "run it as `APP_ENV=production DJANGO_SECRET_KEY=... uv run web check --deploy`"]


# --- db ----------------------------------------------------------------------------------

def test_db_help_and_bad_argument_start_no_database():
    from devtools.dbserver import free_port

    port = free_port()
    env = app_env(MONGO_URI=f"mongodb://127.0.0.1:{port}/auth_help_check")
    result = run("db", "--help", env=env, timeout=30)
    assert result.returncode == 0 and result.stdout.startswith("usage: db"), result
    assert port_free(f"http://127.0.0.1:{port}")
    result = run("db", "--bogus", env=env, timeout=30)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["db: unrecognized arguments: --bogus (see `db --help`)"]


# --- partner (the example app on another site) -------------------------------------------

def partner_env(**overrides: str) -> dict[str, str]:
    from devtools.dbserver import free_port

    return app_env(PARTNER_URL=f"http://127.0.0.1:{free_port()}",
                   PARTNER_CLIENT_ID="0" * 32, PARTNER_CLIENT_SECRET="s", **overrides)


def test_partner_help_bad_argument_and_missing_settings():
    env = partner_env()
    result = run("partner", "--help", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: partner"), result.stdout
    assert "PARTNER_CLIENT_ID" in result.stdout and port_free(env["PARTNER_URL"])
    result = run("partner", "--bogus", env=env)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "partner: unrecognized arguments: --bogus (see `partner --help`)"]
    env.pop("PARTNER_CLIENT_SECRET")
    result = run("partner", env=env)
    assert result.returncode == 2 and result.stderr.splitlines() == [
        "partner: PARTNER_CLIENT_SECRET not set; `uv run dev` registers and starts this "
        "app, or see `partner --help`"]
    result = run("partner", env={**env, "PARTNER_CLIENT_SECRET": "s",
                                 "PARTNER_URL": "127.0.0.1:4322"})
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert "PARTNER_URL must be an origin" in result.stderr


def test_partner_taken_port_is_one_clear_line():
    env = partner_env()
    port = httpx.URL(env["PARTNER_URL"]).port
    with socket.create_server(("127.0.0.1", port)):
        result = run("partner", env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"partner: port {port} (PARTNER_URL {env['PARTNER_URL']}) on 127.0.0.1 is already "
        "taken; stop what uses it or change PARTNER_URL"]
