"""Where the mail sender runs: a thread of each web process, started where the process
loads the app (web.wsgi / web.asgi), so gunicorn's workers each run one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from auth_utils.services.mail import Message

LOAD_APP = """
import os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
import web.{module}
from web import services
sender = services.get().mail_sender
print("running" if sender is not None and sender.running else "no sender", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


@pytest.mark.parametrize("module", ["wsgi", "asgi"])
def test_a_web_process_delivers_the_outbox(core, smtp_server, module):
    message_id = core.outbox.enqueue(Message("bob@example.com", "Hello", "Hi Bob."))
    env = {**os.environ, "SMTP_URL": smtp_server.url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.Popen([sys.executable, "-c", LOAD_APP.format(module=module)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "running"
        assert smtp_server.wait_for(1, 15)
        assert smtp_server.message_ids() == [message_id]
    finally:
        proc.stdin.close()
        proc.wait(30)
    assert proc.returncode == 0
