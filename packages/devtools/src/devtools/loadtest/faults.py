"""The faults injected into a running LoadStack: the database killed and restarted, an app
worker killed, the session-invalidation change stream broken, slow clients. Each is a
plain function or context manager, used by `uv run loadtest --fault` and the suite."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator

from pymongo import MongoClient

from auth_utils.mongo import FEED_APP_NAME
from devtools.loadtest.stack import LoadStack

__all__ = ["FEED_BREAKS", "SlowClients", "feed_broken", "kill_database", "kill_worker",
           "restart_database", "wait_replaced"]


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

class SlowClients:
    """Against each app: `idle` keep-alive connections that asked once and then stay
    silent, `silent` connections that never send a byte, `trickle` POSTs whose body comes
    one byte a second. Each reconnects when the server closes it, until `stop()`."""

    def __init__(self, stack: LoadStack, idle: int = 200, silent: int = 2, trickle: int = 2
                 ) -> None:
        self.ports = [stack.port_of("landing"), stack.port_of("web")]
        self.counts = {"idle": idle, "silent": silent, "trickle": trickle}
        self.closed_by_server = 0  # how often a server hung up on one of them
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()),
                                        name="slow-clients", daemon=True)
        self._opened = threading.Event()

    def start(self, timeout: float = 30.0) -> SlowClients:
        self._thread.start()
        self._opened.wait(timeout)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    async def _main(self) -> None:
        tasks = [asyncio.create_task(self._hold(kind, port))
                 for port in self.ports for kind, n in self.counts.items() for _ in range(n)]
        await asyncio.sleep(1.0)  # every connection has been opened once by now
        self._opened.set()
        while not self._stop.is_set():
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _hold(self, kind: str, port: int) -> None:
        first = True
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.5)
                continue
            try:
                if kind == "idle" and first:
                    # Asks once; a server that hangs up on an idle connection gets it back
                    # open and silent, as a browser's preconnect would be.
                    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                 b"Connection: keep-alive\r\n\r\n")
                    await writer.drain()
                    await reader.read(65536)  # the answer; then say nothing more
                elif kind == "trickle":
                    body = b"username=slow&password=trickling-in" + b"x" * 64
                    writer.write(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                 b"Content-Type: application/x-www-form-urlencoded\r\n"
                                 + f"Content-Length: {len(body)}\r\n\r\n".encode())
                    for byte in body:
                        writer.write(bytes([byte]))
                        await writer.drain()
                        await asyncio.sleep(1.0)
                while not reader.at_eof() and not self._stop.is_set():
                    if not await reader.read(65536):
                        break
                self.closed_by_server += 1
            except (OSError, asyncio.IncompleteReadError):
                self.closed_by_server += 1
            finally:
                writer.close()
            first = False
            await asyncio.sleep(0.2 if kind != "idle" else 1.0)
