"""`uv run landing`: serve the landing app on LANDING_URL's port."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from auth_utils import SettingsError, load_settings


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="landing",
        description="Serve the landing app (Starlette, uvicorn) on the port of LANDING_URL, "
                    "listening on BIND_HOST (default 127.0.0.1).",
        epilog="Settings come from the environment, .env and .env.local (see README.md). "
               "Production runs uvicorn itself (docs/deploy.md).",
    )
    # Off by default: uvicorn's reloader is a second process that sets a threading.Event
    # from its signal handler and can deadlock there (seen under `timeout`), leaving the
    # server holding its port; it also stats every .py file under apps/ and packages/
    # four times a second (about 1.5% of a core here), and a parent's death signal
    # does not reach its server process.
    parser.add_argument("--reload", action=argparse.BooleanOptionalAction, default=False,
                        help="restart when a file under apps/ or packages/ changes "
                             "(default: off)")
    return parser


def _port_taken(host: str, port: int) -> str | None:
    """Why uvicorn could not listen on host:port, or None (bind as uvicorn does)."""
    try:
        with socket.create_server((host, port)):
            return None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return "is already taken"
        return f"cannot be used ({exc.strerror or exc})"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"landing: {exc}", file=sys.stderr)
        return 2
    url = urlsplit(settings.landing_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    host = os.environ.get("BIND_HOST", "127.0.0.1")
    problem = _port_taken(host, port)
    if problem:
        print(f"landing: port {port} (LANDING_URL {settings.landing_url}) on {host} {problem}; "
              "stop what uses it or change LANDING_URL", file=sys.stderr)
        return 1
    import uvicorn

    # Watch only the workspace's own sources (not .venv) when running from a checkout.
    root = Path(__file__).resolve().parents[4]
    watch = [str(root / d) for d in ("apps", "packages") if (root / d).is_dir()]
    uvicorn.run(
        "landing.app:create_app", factory=True, host=host, port=port, reload=args.reload,
        reload_dirs=watch if args.reload and watch else None,
        proxy_headers=False, server_header=False, log_level="info",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
