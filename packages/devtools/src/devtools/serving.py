"""The production server commands of docs/deploy.md §4, in one place.

The benchmark and the load test start the apps the way a deployment does; when the
documented serving setup changes, it changes here and in docs/deploy.md together.
"""

from __future__ import annotations

__all__ = ["landing_server", "web_server"]


def landing_server(port: int, workers: int, app: str = "landing.app:create_app"
                   ) -> tuple[str, tuple[str, ...]]:
    """The landing app under uvicorn (ASGI), `workers` processes on 127.0.0.1:`port`."""
    return "uvicorn", (app, "--factory", "--host", "127.0.0.1", "--port", str(port),
                       "--workers", str(workers), "--log-level", "warning", "--no-access-log")


def web_server(port: int, workers: int) -> tuple[str, tuple[str, ...]]:
    """The web app under gunicorn's ASGI worker (`-k asgi`), `workers` processes on
    127.0.0.1:`port`: each worker's event loop holds slow and idle connections while
    Django's sync code runs in a thread, so two silent sockets cannot stop it (the sync
    worker they could, until its 30 s timeout; docs/deploy.md §4)."""
    return "gunicorn", ("web.asgi:application", "--worker-class", "asgi",
                        "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                        "--keep-alive", "5", "--log-level", "warning")
