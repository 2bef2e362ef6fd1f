"""What slow or idle clients do to a server, on real sockets; used by the serving tests and
by `uv run loadtest --fault slow-clients`."""

from __future__ import annotations

import asyncio
import threading
import time

__all__ = ["SlowClients"]

TRICKLED_BODY = b"username=slow&password=trickling-in" + b"x" * 64


class SlowClients:
    """Against each of `ports` on `host`: `idle` keep-alive connections that ask once
    (GET `path`) and then stay silent, `silent` connections that never send a byte, and
    `trickling` POSTs to `post_path` whose body comes one byte every `every` seconds (for
    `seconds` at the most, when given). With `reconnect`, each opens again (silent) when
    the server hangs up, until stopped. The POSTs carry `headers` too (an Origin and a
    CSRF cookie make the web app read their bodies; without, it refuses them unread).
    `start()`/
    `stop()`, or a context manager; started, every connection has been opened once and
    every idle one answered (`idle_open`)."""

    def __init__(self, host: str, *ports: int, idle: int = 200, silent: int = 2,
                 trickling: int = 2, every: float = 0.5, seconds: float | None = None,
                 path: str = "/healthz", post_path: str = "/login",
                 reconnect: bool = False, headers: dict[str, str] | None = None) -> None:
        self.host, self.ports, self.path, self.post_path = host, ports, path, post_path
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.counts = {"idle": idle, "silent": silent, "trickle": trickling}
        self.every, self.seconds, self.reconnect = every, seconds, reconnect
        self.idle_open = 0  # idle connections the server answered on their first request
        self.closed_by_server = 0  # how often a server hung up on one of them
        self._clients = len(ports) * sum(self.counts.values())
        self._opened_once_by: set[object] = set()  # the clients opened (or failed) once
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()),
                                        name="slow-clients", daemon=True)

    def start(self, timeout: float = 30.0) -> SlowClients:
        self._thread.start()
        self._opened.wait(timeout)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def __enter__(self) -> SlowClients:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _opened_once(self) -> None:
        """The current client has been opened once, or could not be (counted once)."""
        self._opened_once_by.add(asyncio.current_task())
        if len(self._opened_once_by) == self._clients:
            self._opened.set()

    async def _main(self) -> None:
        if not self._clients:
            self._opened.set()
        tasks = [asyncio.create_task(self._hold(kind, port))
                 for port in self.ports for kind, n in self.counts.items() for _ in range(n)]
        while not self._stop.is_set():
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _hold(self, kind: str, port: int) -> None:
        """One client: it connects, says its part and listens until the server hangs up;
        with `reconnect`, again and again (an idle one then silent, as a browser's
        preconnect would be)."""
        first = True
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(self.host, port)
            except OSError:
                writer = None
            if writer is not None:
                try:
                    if kind == "idle" and first:
                        writer.write(f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{port}"
                                     "\r\nConnection: keep-alive\r\n\r\n".encode())
                        await writer.drain()
                        answer = await reader.read(65536)  # then silence
                        self.idle_open += bool(answer)
                    first = False
                    self._opened_once()
                    if kind == "trickle":
                        await self._trickle(port, writer)
                    while not reader.at_eof() and not self._stop.is_set():
                        if not await reader.read(65536):
                            break
                    self.closed_by_server += not self._stop.is_set()
                except (OSError, asyncio.IncompleteReadError):
                    self.closed_by_server += 1
                finally:
                    writer.close()
            self._opened_once()  # in case it failed before that
            if not self.reconnect:
                return
            await asyncio.sleep(0.5 if writer is None else 1.0 if kind == "idle" else 0.2)

    async def _trickle(self, port: int, writer: asyncio.StreamWriter) -> None:
        deadline = None if self.seconds is None else time.monotonic() + self.seconds
        writer.write(f"POST {self.post_path} HTTP/1.1\r\nHost: {self.host}:{port}\r\n"
                     f"Content-Type: application/x-www-form-urlencoded\r\n{self.headers}"
                     f"Content-Length: {len(TRICKLED_BODY)}\r\n\r\n".encode())
        for byte in TRICKLED_BODY:
            await writer.drain()
            await asyncio.sleep(self.every)
            if self._stop.is_set() or (deadline is not None and time.monotonic() > deadline):
                return
            writer.write(bytes([byte]))
