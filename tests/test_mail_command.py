"""`uv run mail`: the local SMTP server prints one line per message (To, Subject, links);
--help answers, a bad argument or a taken port is one line, Ctrl-C stops it."""

from __future__ import annotations

import contextlib
import os
import signal
import smtplib
import socket
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from devtools.dbserver import free_port, port_answers
from devtools.testing import TEST_ENV

MAIL = str(Path(sys.executable).with_name("mail"))


def mail_env(**overrides: str) -> dict[str, str]:
    return {**os.environ, **TEST_ENV, "SMTP_URL": f"smtp://127.0.0.1:{free_port()}",
            **overrides}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([MAIL, *args], env=env or mail_env(), capture_output=True,
                          text=True, timeout=30)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_says_what_it_does(flag):
    result = run(flag)
    assert result.returncode == 0 and result.stdout.startswith("usage: mail")
    assert "SMTP_URL" in result.stdout and "Ctrl-C" in result.stdout


def test_a_bad_argument_is_one_line():
    result = run("--bogus")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "mail: unrecognized arguments: --bogus (see `mail --help`)"]


def test_smtp_url_elsewhere_is_one_line():
    result = run(env=mail_env(SMTP_URL="smtps://u:secret@smtp.example.com"))
    assert result.returncode == 2 and "secret" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "mail: SMTP_URL (smtp.example.com) is not plain smtp:// on this machine; mail goes "
        "there, not here (give --port to listen anyway)"]


def test_a_taken_port_is_one_line():
    env = mail_env()
    port = int(env["SMTP_URL"].rsplit(":", 1)[1])
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = run(env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"mail: port 127.0.0.1:{port} is already taken (another `uv run mail` or "
        "`uv run dev`?); stop it or change SMTP_URL"]


def test_prints_one_line_per_message_and_stops_on_ctrl_c():
    env = mail_env()
    port = int(env["SMTP_URL"].rsplit(":", 1)[1])
    proc = subprocess.Popen([MAIL], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert proc.stdout.readline().startswith(f"mail: SMTP server on 127.0.0.1:{port};")
        message = EmailMessage()
        message["From"], message["To"] = "no-reply@localhost", "bob@example.com"
        message["Subject"] = "Verify your email"
        message.set_content("Open https://example.com/verify/abc?x=1 to verify.")
        message.add_alternative('<a href="https://example.com/verify/abc?x=1&amp;y=2">go</a>',
                                subtype="html")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message)
        assert proc.stdout.readline() == (
            "mail: To: bob@example.com | Subject: Verify your email | "
            "https://example.com/verify/abc?x=1 https://example.com/verify/abc?x=1&y=2\n")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
        assert proc.stdout.read() == "mail: stopped\n"
        assert not port_answers("127.0.0.1", port)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(5)
