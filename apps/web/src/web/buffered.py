"""Production entry point (docs/deploy.md §4): Django's WSGI handler behind a small ASGI
front that reads each request whole on the event loop before Django sees it, so a slow
client costs a socket, never the worker.

Why not Django's own ASGI handler: it adapts every request and every sync piece of it
with thread hops, and served the web page at about 0.3x of a sync worker (issue 28). Why
not a WSGI server: it calls the app once the headers are in, and the app then blocks its
thread reading a body that trickles in (granian's WSGI interface with one blocking
thread answered nobody else while one POST body came in slowly). Here the body, 64 KiB
at most, is in memory before Django runs; Django then runs on the event loop's thread,
as a sync worker would run it, but only for the CPU time of a complete request (a
thread hop per request cost 25 % of the throughput). Idle, silent and trickling
connections wait on the loop meanwhile, and cost nothing else.

`HttpToolsProtocol` (uvicorn's `--http web.buffered:HttpToolsProtocol`) is uvicorn's own
protocol with each answer's head and body written in one system call, not two.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpToolsProtocol

from auth_utils.http import MAX_BODY_BYTES
from web.wsgi import application as wsgi_application  # sets Django up, starts services

__all__ = ["application"]

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


async def _read_body(receive: Receive, declared: str | None) -> tuple[bytes, str] | None:
    """The body and the length Django is told, read on the event loop (None: the client
    left). An announced length that is not a number or is past MAX_BODY_BYTES is passed
    on unread; a body that grows past it is no longer read and the size seen so far is
    its length: the glue's body rule (auth_utils.http.body_refusal) answers 400 or 413."""
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return b"", declared
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"", str(size)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), str(size)


def _environ(scope: dict, body: bytes, length: str) -> dict:
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue  # the length is the body's as read (below)
        if name != "CONTENT_TYPE":
            name = "HTTP_" + name
        # Repeated headers are one, comma-joined (RFC 9110); cookies with "; " (RFC 6265).
        joiner = "; " if name == "HTTP_COOKIE" else ","
        environ[name] = f"{environ[name]}{joiner}{value}" if name in environ else value
    if length != "0" or scope["method"] not in ("GET", "HEAD"):
        environ["CONTENT_LENGTH"] = length
    return environ


def _call_django(environ: dict) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
    """One request through Django's WSGI handler, its whole answer collected."""
    answer: dict = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None) -> None:
        answer["status"] = int(status.split(" ", 1)[0])
        # Django gives each Set-Cookie as `c.output(header="")`, with a leading space: WSGI
        # servers strip header values, and h11 refuses one that starts with a space.
        answer["headers"] = [(k.lower().encode("latin-1"), v.strip().encode("latin-1"))
                             for k, v in headers]

    result = wsgi_application(environ, start_response)
    try:
        chunks = [chunk for chunk in result if chunk]
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return answer["status"], answer["headers"], chunks


async def application(scope: dict, receive: Receive, send: Send) -> None:
    """HTTP requests go to Django's WSGI handler once their body is in; lifespan
    messages are acknowledged (start-up work happened when web.wsgi was imported)."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            kind = message["type"].rsplit(".", 1)[-1]
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                return
    if scope["type"] != "http":
        return
    declared, framed = None, False
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and declared is None:  # the first, as before
            declared, framed = value.decode("latin-1"), True
        elif name == b"transfer-encoding":
            framed = True
    # Neither header: the request has no body (RFC 9112 §6.3), nothing to wait for.
    read = await _read_body(receive, declared) if framed else (b"", "0")
    if read is None:
        return
    status, headers, chunks = _call_django(_environ(scope, *read))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"".join(chunks)})


class _OneWriteTransport:
    """The connection's transport, writing a response's head and body in one system
    call: uvicorn writes the head at `http.response.start` and the body at the next
    message, two writes (and two TCP segments) per answer; the head is held until the
    body comes, or until the loop's next turn at the latest."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop, self._held = transport, loop, b""

    def write(self, data: bytes) -> None:
        if not self._held and data.endswith(b"\r\n\r\n"):  # a response's head
            self._held = data
            self._loop.call_soon(self.flush)  # if no body follows at once
            return
        if self._held:
            data, self._held = self._held + data, b""
        self._transport.write(data)

    def flush(self) -> None:
        held, self._held = self._held, b""
        if held and not self._transport.is_closing():  # the client may have left since
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self._transport, name)


class HttpToolsProtocol(_HttpToolsProtocol):
    """uvicorn's httptools protocol (`--http web.buffered:HttpToolsProtocol`) with one
    write per answer (`_OneWriteTransport`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_OneWriteTransport(transport, self.loop))  # type: ignore[arg-type]
