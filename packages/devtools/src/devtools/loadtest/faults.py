"""The faults injected into a running LoadStack: the database killed and restarted, an app
worker killed, the session-invalidation change stream broken, slow clients, the SMTP
server down and a mail sender killed while it sends. Each is a plain function, context
manager or small class, used by `uv run loadtest --fault` and the suite."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from pymongo import MongoClient

from auth_utils.storage.mongo.operations import FEED_APP_NAME
from devtools.loadtest.stack import LoadStack
from devtools.mailserver import MailServer, Received
from devtools.slowclients import SlowClients

__all__ = ["FEED_BREAKS", "SenderKiller", "feed_broken", "kill_database", "kill_worker",
           "restart_database", "slow_clients", "smtp_down", "wait_replaced"]


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


# -- mail -------------------------------------------------------------------------------------

@contextlib.contextmanager
def smtp_down(server: MailServer) -> Iterator[None]:
    """While inside, nothing listens on the SMTP server's port (connections are refused);
    it listens again, on the same port, on the way out."""
    server.stop()
    try:
        yield
    finally:
        server.start()


@dataclass(frozen=True)
class Kill:
    at: float
    app: str
    pid: int
    message_id: str


class SenderKiller:
    """Once armed, SIGKILLs the app worker whose mail sender is delivering a message, at
    the worst moment: the SMTP server has the whole message and has not answered "250"
    yet, so the sender dies before it can mark the message delivered (the crash window:
    the message goes out again once its lease has passed, with the same Message-ID).
    Which worker sends is read from the message's claim in the outbox (`leased_by`:
    host:pid:name). At most `per_app` kills per app, never twice on one message (so each
    kill makes one duplicate at most); `kills` lists them."""

    def __init__(self, stack: LoadStack, server: MailServer, per_app: int = 1) -> None:
        self.stack, self.per_app = stack, per_app
        self.kills: list[Kill] = []
        self._armed = threading.Event()
        self._client: MongoClient = MongoClient(stack.db.uri, serverSelectionTimeoutMS=2000)
        server.on_message = self._received

    def arm(self) -> None:
        self._armed.set()

    def done(self) -> bool:
        return len(self.kills) >= self.per_app * len(self.stack.apps)

    def close(self) -> None:
        self._armed.clear()
        self._client.close()

    def _sender_of(self, message_id: str) -> tuple[str, int] | None:
        doc = self._client.get_default_database()["outbox"].find_one(
            {"message_id": message_id}, {"leased_by": 1})
        try:
            pid = int(str((doc or {}).get("leased_by", "")).split(":")[1])
        except (IndexError, ValueError):
            return None
        for app in self.stack.apps:
            if pid in self.stack.worker_pids(app):
                return app, pid
        return None

    def _received(self, received: Received) -> None:  # on the SMTP server's thread
        if not self._armed.is_set() or self.done() or any(
                k.message_id == received.message_id for k in self.kills):
            return  # a killed sender's message sent again: its copy is not killed too
        with contextlib.suppress(Exception):  # the database unreachable: the next one
            found = self._sender_of(received.message_id)
            if found is None or sum(k.app == found[0] for k in self.kills) >= self.per_app:
                return
            os.kill(found[1], signal.SIGKILL)
            self.kills.append(Kill(time.time(), found[0], found[1], received.message_id))
