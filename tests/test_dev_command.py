"""`uv run dev`: everything starts, both URLs answer, Ctrl-C leaves nothing behind;
a taken port or an unreachable database is one clear line and a non-zero exit."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from devtools.testing import TEST_ENV, wait_for

pytestmark = pytest.mark.e2e


def dev_env(**overrides: str) -> dict[str, str]:
    from devtools.dbserver import free_port

    env = {**os.environ, **TEST_ENV, "APP_ENV": "test",
           "MONGO_URI": f"mongodb://127.0.0.1:{free_port()}/monorepo_auth"
                        "?retryWrites=false&directConnection=true",
           "LANDING_URL": f"http://localhost:{free_port()}",
           "WEB_URL": f"http://localhost:{free_port()}",
           "SMTP_URL": f"smtp://127.0.0.1:{free_port()}", **overrides}
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
        assert f"dev: mail       {env['SMTP_URL']} (a local SMTP server" in output
        assert httpx.get(f"{env['LANDING_URL']}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{env['WEB_URL']}/").status_code == 302
        # The figure dev gives (from its own process start: issue 27 asked for a warm
        # start of 3 s or less). Printed, never asserted: the machine is shared.
        said = re.search(r"^dev: ready in (\d+\.\d) s \(Ctrl-C to stop\)$", output, re.M)
        assert said, output
        print(f"dev: both URLs answered {ready_after:.1f} s after start (dev says "
              f"{said.group(1)} s)")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert proc.returncode == 0
    assert (tmp_path / ".data" / "db").is_dir()  # the local database kept its data here
    db_port = env["MONGO_URI"].split(":")[2].split("/")[0]
    smtp_port = env["SMTP_URL"].rsplit(":", 1)[1]
    for url in (env["LANDING_URL"], env["WEB_URL"], f"http://127.0.0.1:{db_port}",
                f"http://127.0.0.1:{smtp_port}"):
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


def test_a_second_dev_says_the_first_is_running_and_where(tmp_path):
    """Same checkout (working directory), other ports and database: one line naming the
    running one's URLs, nothing started (its database would fight over .data/db)."""
    env = dev_env()
    first = dev(env, tmp_path)
    try:
        for line in first.stdout:
            if "dev: ready" in line:
                break
        else:
            pytest.fail("the first dev did not get ready")
        second_env = dev_env()
        second = dev(second_env, tmp_path)
        out, _ = second.communicate(timeout=60)
        assert second.returncode == 1
        assert out.strip() == (
            f"dev: already running from this checkout (pid {first.pid}): landing "
            f"{env['LANDING_URL']}, web {env['WEB_URL']}; use it, or stop it (Ctrl-C where "
            "it runs) before starting another")
        for url in (second_env["LANDING_URL"], second_env["WEB_URL"]):
            assert port_free(url)
        assert httpx.get(f"{env['LANDING_URL']}/healthz").status_code == 200  # untouched
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(30)
    assert first.returncode == 0
    assert not (tmp_path / ".data" / "dev.json").exists()  # the record goes with it


def test_dev_from_another_checkout_names_the_one_running(tmp_path):
    """Two clones on one machine, default ports: the second says what holds the port and
    where it was started, in one line, and starts nothing."""
    env = dev_env()
    first_checkout, second_checkout = tmp_path / "one", tmp_path / "two"
    first_checkout.mkdir()
    second_checkout.mkdir()
    first = dev(env, first_checkout)
    try:
        for line in first.stdout:
            if "dev: ready" in line:
                break
        else:
            pytest.fail("the first dev did not get ready")
        second = dev(env, second_checkout)
        out, _ = second.communicate(timeout=60)
        assert second.returncode == 1
        port = httpx.URL(env["LANDING_URL"]).port
        assert out.strip() == (
            f"dev: port {port} for the landing app ({env['LANDING_URL']}) is already taken "
            f"by `uv run dev` in {first_checkout} (pid {first.pid}); stop it or change "
            "LANDING_URL")
        assert not (second_checkout / ".data").exists()  # nothing started, nothing written
        assert httpx.get(f"{env['LANDING_URL']}/healthz").status_code == 200  # untouched
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(30)
    assert first.returncode == 0


def test_a_database_already_on_this_checkouts_data_is_named(tmp_path):
    """`uv run db` on one port, then `dev` (or another `db`) with MONGO_URI on another
    port from the same checkout: a second server cannot open .data/db (WiredTiger's
    lock); one line names the first and its port, and no app is started."""
    from devtools.dbserver import free_port

    env = dev_env()
    db_port = free_port()
    db_env = {**env, "MONGO_URI": env["MONGO_URI"].replace(
        f":{env['MONGO_URI'].split(':')[2].split('/')[0]}/", f":{db_port}/")}
    holder = subprocess.Popen([str(Path(sys.executable).with_name("db"))], env=db_env,
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        assert "listening" in holder.stdout.readline()
        said = (f"its data directory .data/db is in use by the database on port {db_port} of "
                f"`uv run db` in {tmp_path} (pid {holder.pid}); stop it, or point MONGO_URI "
                "at it")
        second = dev(env, tmp_path)
        out, _ = second.communicate(timeout=60)
        assert second.returncode == 1
        db_address = env["MONGO_URI"].split("/")[2]
        assert out.strip() == f"dev: could not start the local database on {db_address}: {said}"
        for url in (env["LANDING_URL"], env["WEB_URL"], f"http://{db_address}"):
            assert port_free(url)
        another = subprocess.run([str(Path(sys.executable).with_name("db"))], env=env,
                                 cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert another.returncode == 1
        assert another.stderr.strip() == f"db: {said}"
    finally:
        holder.send_signal(signal.SIGINT)
        holder.wait(30)


def test_unreachable_database_is_one_clear_line(tmp_path):
    env = dev_env(MONGO_URI="mongodb://db.invalid:27017/x?serverSelectionTimeoutMS=500")
    proc = dev(env, tmp_path)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert out.strip() == ("dev: cannot reach the database at "
                           "mongodb://db.invalid:27017/x?serverSelectionTimeoutMS=500; check "
                           "MONGO_URI (or start it with `uv run db`)")


# --- stopping: whatever happens, nothing is left behind and the next `dev` starts -------

ROOT = Path(__file__).resolve().parents[1]
UV = shutil.which("uv")
needs_uv = pytest.mark.skipif(UV is None, reason="uv is not on PATH")


class Run:
    """One `dev` (or `uv run dev`) in its own process group, its output read as it comes;
    every process it starts carries a marker in its environment, so the test finds all of
    them (grandchildren included) in /proc and kills, by pid, whatever is left."""

    def __init__(self, env: dict[str, str], cwd: Path, *, via_uv: bool = False,
                 args: tuple[str, ...] = ()) -> None:
        self.env = env
        command = ([UV, "run", "--project", str(ROOT), "--no-sync", "dev"] if via_uv
                   else [str(Path(sys.executable).with_name("dev"))])
        self.proc = subprocess.Popen([*command, *args], env=env, cwd=cwd,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output = ""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(queue.Empty):
                self.output += self.lines.get(timeout=min(left, 0.2))
        return True

    def finish(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        self.reader.join(10)  # the rest of the output (EOF once every writer is gone)
        while not self.lines.empty():
            self.output += self.lines.get()
        return code

    def pids(self) -> set[int]:
        """Every live process of this run (zombies have no environment)."""
        return processes_with(f"DEV_TEST_RUN={self.env['DEV_TEST_RUN']}".encode())

    def dev_pid(self) -> int:
        return next(pid for pid in self.pids() if b"bin/dev" in cmdline(pid))


def processes_with(marker: bytes) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.add(int(entry.name))
    return found


def cmdline(pid: int) -> bytes:
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
    return b""


def ports(env: dict[str, str]) -> dict[str, str]:
    db_port = env["MONGO_URI"].split(":")[2].split("/")[0]
    return {"landing": env["LANDING_URL"], "web": env["WEB_URL"],
            "database": f"http://127.0.0.1:{db_port}",
            "mail": f"http://127.0.0.1:{env['SMTP_URL'].rsplit(':', 1)[1]}"}


@pytest.fixture
def run_env(tmp_path):
    """dev_env() with a marker; afterwards SIGKILL (by pid) whatever of the run is left."""
    env = dev_env(DEV_TEST_RUN=uuid.uuid4().hex)
    yield env
    marker = f"DEV_TEST_RUN={env['DEV_TEST_RUN']}".encode()
    for pid in processes_with(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def assert_nothing_left(run: Run, seen: set[int], timeout: float = 30.0) -> None:
    """No process of the run (nor any pid seen while it ran) and no listening port."""
    deadline = time.monotonic() + timeout
    while (run.pids() or any(Path(f"/proc/{p}/environ").exists() and cmdline(p)
                             for p in seen)) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = {pid: cmdline(pid).decode() for pid in run.pids()}
    assert not left, f"still running after {timeout:.0f} s: {left}\n{run.output}"
    for name, url in ports(run.env).items():
        assert port_free(url), f"the {name} port ({url}) still answers\n{run.output}"
    assert "Traceback" not in run.output, run.output


def assert_next_dev_starts(env: dict[str, str], cwd: Path) -> None:
    run = Run(env, cwd)
    try:
        assert run.wait_for("dev: ready", 90), run.output
    finally:
        run.proc.send_signal(signal.SIGINT)
        assert run.finish(60) == 0, run.output
    assert_nothing_left(run, set())


def start_until_ready(run: Run) -> set[int]:
    assert run.wait_for("dev: ready", 90), run.output
    pids = run.pids()
    assert len(pids) >= 4, pids  # dev, the database, landing, web (and uv)
    return pids


@needs_uv
def test_sigterm_to_the_process_group_stops_everything(run_env, tmp_path):
    """What systemd, containers and tmux do: one SIGTERM to every process of the group
    (uv forwards its copy to dev, so dev gets two)."""
    run = Run(run_env, tmp_path, via_uv=True)
    seen = start_until_ready(run)
    os.killpg(run.proc.pid, signal.SIGTERM)
    run.finish(60)
    assert "dev: stopping" in run.output
    assert_nothing_left(run, seen)
    assert_next_dev_starts(run_env, tmp_path)


def test_second_ctrl_c_does_not_interrupt_the_cleanup(run_env, tmp_path):
    run = Run(run_env, tmp_path)
    seen = start_until_ready(run)
    dev_pid = run.proc.pid
    os.kill(dev_pid, signal.SIGINT)
    assert run.wait_for("dev: stopping", 30), run.output
    os.kill(dev_pid, signal.SIGINT)
    assert run.finish(60) == 0, run.output
    assert_nothing_left(run, seen)
    assert_next_dev_starts(run_env, tmp_path)


@needs_uv
def test_stop_during_start_up(run_env, tmp_path):
    """SIGTERM to the group once the web app's process exists, before dev is ready, and
    Ctrl-C again while it stops (uv's forwarded copy of the SIGTERM only sometimes comes
    late enough to be a second signal; this one always is)."""
    run = Run(run_env, tmp_path, via_uv=True)
    deadline = time.monotonic() + 60
    while not any(b"-m web" in cmdline(pid) for pid in run.pids()):
        assert time.monotonic() < deadline and run.proc.poll() is None, run.output
        time.sleep(0.05)
    seen = run.pids()
    dev_pid = run.dev_pid()
    os.killpg(run.proc.pid, signal.SIGTERM)
    assert run.wait_for("dev: stopping", 30), run.output
    with contextlib.suppress(ProcessLookupError):
        os.kill(dev_pid, signal.SIGINT)
    run.finish(60)
    assert "dev: ready" not in run.output
    assert_nothing_left(run, seen)
    assert_next_dev_starts(run_env, tmp_path)


def test_sigkill_of_dev_ends_its_servers(run_env, tmp_path):
    """dev cannot clean up after SIGKILL: the kernel ends its children (death signal)."""
    run = Run(run_env, tmp_path)
    seen = start_until_ready(run)
    os.kill(run.proc.pid, signal.SIGKILL)
    assert run.finish(10) == -signal.SIGKILL
    assert_nothing_left(run, seen)
    assert_next_dev_starts(run_env, tmp_path)


def test_dead_database_is_restarted_and_a_dead_app_is_named(run_env, tmp_path):
    run = Run(run_env, tmp_path)
    start_until_ready(run)
    db_pid = next(p for p in run.pids() if b"secantus" in cmdline(p))
    os.kill(db_pid, signal.SIGKILL)
    assert run.wait_for("dev: the local database exited (killed by SIGKILL); restarting it "
                        "on 127.0.0.1:", 30), run.output
    deadline = time.monotonic() + 30
    while port_free(ports(run_env)["database"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not port_free(ports(run_env)["database"]), run.output  # same port again
    assert (tmp_path / ".data" / "db").is_dir()
    assert run.proc.poll() is None
    # The apps recover by themselves within 2 s (each process's probe sees the database).
    for url in (run_env["LANDING_URL"], run_env["WEB_URL"]):
        assert wait_for(lambda u=url: httpx.get(f"{u}/healthz", timeout=10).status_code
                        == 200, 2.0), url

    web_pid = next(p for p in run.pids() if b"-m web" in cmdline(p))
    os.kill(web_pid, signal.SIGKILL)
    assert run.finish(60) == 1
    assert "dev: the web app exited (killed by SIGKILL); stopping the others" in run.output
    assert_nothing_left(run, set())


def test_dev_prints_each_mail_with_its_link(run_env, tmp_path):
    """What a developer clicking through a password reset reads: one line per message."""
    import smtplib
    from email.message import EmailMessage

    run = Run(run_env, tmp_path)
    seen = start_until_ready(run)
    message = EmailMessage()
    message["From"], message["To"] = "no-reply@localhost", "bob@example.com"
    message["Subject"] = "Reset your password"
    message.set_content("Follow http://localhost:4321/password/reset/abc123 within 30 min.")
    host, port = run_env["SMTP_URL"].removeprefix("smtp://").split(":")
    with smtplib.SMTP(host, int(port), timeout=10) as smtp:
        smtp.send_message(message)
    assert run.wait_for("mail: To: bob@example.com | Subject: Reset your password | "
                        "http://localhost:4321/password/reset/abc123\n", 10), run.output
    run.proc.send_signal(signal.SIGINT)
    assert run.finish(60) == 0, run.output
    assert_nothing_left(run, seen)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_usage_and_starts_nothing(run_env, tmp_path, flag):
    run = Run(run_env, tmp_path, args=(flag,))
    assert run.finish(30) == 0, run.output
    assert run.output.startswith("usage: dev"), run.output
    assert "Ctrl-C" in run.output
    assert_nothing_left(run, set(), timeout=1)
    assert not (tmp_path / ".data").exists()


def test_unknown_argument_is_one_line_and_exit_2(run_env, tmp_path):
    run = Run(run_env, tmp_path, args=("--bogus",))
    assert run.finish(30) == 2, run.output
    assert run.output.strip().splitlines() == [
        "dev: unrecognized arguments: --bogus (see `dev --help`)"]
    assert_nothing_left(run, set(), timeout=1)


def test_dev_starts_the_partner_app_registered_once(tmp_path):
    """PARTNER_URL set (.env sets it): the example partner app starts too and its URL is
    printed; it is registered once (the credentials kept in .data/partner.json, owner-only,
    the secret never printed) and the next start uses the same client."""
    from devtools.dbserver import free_port

    env = dev_env(PARTNER_URL=f"http://127.0.0.1:{free_port()}")
    runs = []
    for _ in range(2):
        proc = dev(env, tmp_path)
        lines = []
        try:
            for line in proc.stdout:
                lines.append(line)
                if "dev: ready" in line:
                    break
            output = "".join(lines)
            assert "dev: ready" in output, output
            home = httpx.get(f"{env['PARTNER_URL']}/")
            assert home.status_code == 200 and 'href="/login"' in home.text
            login = httpx.get(f"{env['PARTNER_URL']}/login")  # to our provider
            assert login.status_code == 302, login.text
            assert login.headers["location"].startswith(f"{env['LANDING_URL']}/oauth2/authorize?")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
        assert proc.returncode == 0
        record = tmp_path / ".data" / "partner.json"
        assert record.stat().st_mode & 0o077 == 0
        runs.append((output, record.read_text()))
    (first, kept), (second, kept_again) = runs
    assert f"  partner  {env['PARTNER_URL']}" in first and env["PARTNER_URL"] in second
    assert "dev: partner    registered as client" in first
    assert "registered" not in second and kept_again == kept  # the same client
    import json

    assert json.loads(kept)["client_secret"] not in first + second
    assert port_free(env["PARTNER_URL"])
