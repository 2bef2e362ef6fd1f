"""auth_utils.ops.event_log in a fresh interpreter (pytest's own handlers on the root logger
would hide what a server process sees): the lines reach stderr as JSON, once, and an
operator's handler is left alone."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import logging, sys
from auth_utils.ops.event_log import log_events_to_stderr
if sys.argv[1] == "operator":
    logging.getLogger("auth.events").addHandler(logging.StreamHandler(sys.stdout))
first, second = log_events_to_stderr(), log_events_to_stderr()
print(first, second)
log = logging.getLogger("auth.events")
log.info('{"event": "auth", "kind": "login"}')
log.warning("could not store security event %s: %s", "login", "line one\\nline two")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("could not store security event %s", "logout")
"""


def run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True,
                          text=True, timeout=60, check=True)


def test_events_reach_stderr_as_one_json_object_per_line_once():
    done = run("default")
    assert done.stdout.split() == ["True", "False"]  # installed once, not twice
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # each line is JSON
    assert lines[0] == {"event": "auth", "kind": "login"}
    assert lines[1]["level"] == "warning" and "line one\nline two" in lines[1]["message"]
    assert lines[2]["level"] == "error" and "ZeroDivisionError" in lines[2]["exception"]
    assert len(lines) == 3


def test_a_handler_the_operator_gave_is_kept_and_nothing_is_added():
    done = run("operator")
    assert done.stdout.splitlines()[0] == "False False"
    assert '{"event": "auth", "kind": "login"}' in done.stdout  # at INFO, through theirs
    assert done.stderr == ""
