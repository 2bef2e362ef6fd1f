"""The production server commands of docs/deploy.md §4, in one place.

The benchmark, the load test and the served-system tests start the apps the way a
deployment does; when the documented serving setup changes, it changes here and in
docs/deploy.md together. Both were chosen by measurement (issue 28, docs/benchmarks.md).
"""

from __future__ import annotations

__all__ = ["landing_server", "web_server"]


def landing_server(port: int, workers: int, app: str = "landing.app:create_app"
                   ) -> tuple[str, tuple[str, ...]]:
    """The landing app under granian's ASGI interface, `workers` processes on
    127.0.0.1:`port` (1.1-1.2x uvicorn's requests/s, same slow-client safety). A
    worker that dies is respawned after 0.5 s. `--backpressure` bounds the connections
    a worker holds, idle ones included: 1000, as gunicorn's `--worker-connections`, so
    idle keep-alive clients do not lock new ones out (16 did)."""
    return "granian", ("--interface", "asgi", "--factory", app,
                       "--host", "127.0.0.1", "--port", str(port),
                       "--workers", str(workers), "--backlog", "2048",
                       "--backpressure", "1000", "--respawn-failed-workers",
                       "--respawn-interval", "0.5", "--workers-kill-timeout", "10",
                       "--log-level", "warning", "--no-access-log")


def web_server(port: int, workers: int) -> tuple[str, tuple[str, ...]]:
    """The web app as `web.buffered` (Django's WSGI handler behind an ASGI front that
    reads whole requests on the event loop) under uvicorn with httptools (writing each
    answer in one system call: `web.buffered.HttpToolsProtocol`) and uvloop, `workers`
    processes on 127.0.0.1:`port`: slow and idle clients cost a socket, and the page
    runs faster than under a sync worker (docs/deploy.md §4). No proxy headers: the app
    itself believes `X-Forwarded-*` only from `TRUSTED_PROXIES` (uvicorn's default
    would believe them from any loopback peer, before the app's rule)."""
    return "uvicorn", ("web.buffered:application", "--host", "127.0.0.1",
                       "--port", str(port), "--workers", str(workers),
                       "--http", "web.buffered:HttpToolsProtocol", "--loop", "uvloop",
                       "--lifespan", "off", "--timeout-keep-alive", "5",
                       "--no-proxy-headers", "--no-server-header",
                       "--log-level", "warning", "--no-access-log")
