"""The faults injected into a running LoadStack: the database killed and restarted, an app
worker killed, the session-invalidation change stream broken, slow clients. Each is a
plain function or context manager, used by `uv run loadtest --fault` and the suite."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

from pymongo import MongoClient

from auth_utils.mongo import FEED_APP_NAME
from devtools.loadtest.stack import LoadStack
from devtools.slowclients import SlowClients

__all__ = ["FEED_BREAKS", "feed_broken", "kill_database", "kill_worker", "restart_database",
           "slow_clients", "wait_replaced"]


# -- the database ----------------------------------------------------------------------

def kill_database(stack: LoadStack) -> float:
    """SIGKILL the database server (no clean shutdown, as a crash); when it happened."""
    stack.db.kill()
    return time.time()


def restart_database(stack: LoadStack) -> float:
    """Start it again on the same port and data; when it accepted connections again."""
    stack.db.start()
    return time.time()


# -- app workers -------------------------------------------------------------------------

def kill_worker(stack: LoadStack, app: str) -> int:
    """SIGKILL one worker of `app` (as the OOM killer would); its pid."""
    pid = stack.worker_pids(app)[0]
    os.kill(pid, signal.SIGKILL)
    return pid


def wait_replaced(stack: LoadStack, app: str, killed: int, timeout: float = 15.0
                  ) -> float | None:
    """Seconds until the app's master has its full count of workers again without the
    killed one; None if it did not within `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        pids = stack.worker_pids(app)
        if killed not in pids and len(pids) >= stack.workers:
            return time.monotonic() - start
        time.sleep(0.02)
    return None


# -- the session-invalidation feed ---------------------------------------------------------

# How the change stream of every app process (client appname `session-feed`) is broken,
# with the database's `failCommand` fail point (needs `--enable-test-commands`):
FEED_BREAKS = {
    # every wait for changes hangs 3 s: the stream is alive but silent (a stalled primary)
    "stall": {"failCommands": ["getMore"], "blockConnection": True, "blockTimeMS": 3000},
    # every wait fails (resumable error): the driver resumes, the stream fails again
    "error": {"failCommands": ["getMore"], "errorCode": 91},
    # the connection is cut on every wait and on every attempt to reopen the stream
    "cut": {"failCommands": ["getMore", "aggregate"], "closeConnection": True},
}


@contextlib.contextmanager
def feed_broken(mongo_uri: str, how: str) -> Iterator[None]:
    """While inside, the session feeds of all app processes fail as `how` says."""
    client: MongoClient = MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    command = {"configureFailPoint": "failCommand", "mode": "alwaysOn",
               "data": {**FEED_BREAKS[how], "appName": FEED_APP_NAME}}
    try:
        client.admin.command(command)
        yield
    finally:
        with contextlib.suppress(Exception):
            client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
        client.close()


# -- slow clients -------------------------------------------------------------------------

def slow_clients(stack: LoadStack) -> SlowClients:
    """Against each app: 200 idle keep-alive connections that asked once and then stay
    silent, 2 that never send a byte, 2 POSTs whose body comes one byte a second. Each
    reconnects when the server closes it, until `stop()`; call `start()`."""
    return SlowClients("127.0.0.1", stack.port_of("landing"), stack.port_of("web"),
                       every=1.0, reconnect=True)
