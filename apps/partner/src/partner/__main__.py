"""`uv run partner`: serve the example relying party on PARTNER_URL's port."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values, find_dotenv

from partner.app import Config

NEEDED = ("PARTNER_URL", "LANDING_URL", "PARTNER_CLIENT_ID", "PARTNER_CLIENT_SECRET")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    return _Parser(
        prog="partner",
        description="Serve the example relying party (an app on another site that logs "
                    "in through the landing app's OpenID Connect provider) on the port of "
                    "PARTNER_URL, listening on BIND_HOST (default 127.0.0.1).",
        epilog="Settings from the environment (and .env, .env.local): PARTNER_URL, "
               "LANDING_URL (the provider), PARTNER_CLIENT_ID and PARTNER_CLIENT_SECRET "
               "(from `uv run auth-admin clients add`); PARTNER_SESSION_SECRET signs its "
               "cookie (random at each start if unset). `uv run dev` registers it and "
               "starts it for you (README.md, 'The example partner app').")


def load_config(env: Mapping[str, str]) -> Config:
    """The Config, or ValueError naming what is missing or wrong."""
    missing = [name for name in NEEDED if not env.get(name, "").strip()]
    if missing:
        raise ValueError(f"{', '.join(missing)} not set; `uv run dev` registers and starts "
                         "this app, or see `partner --help`")
    for name in ("PARTNER_URL", "LANDING_URL"):
        parts = urlsplit(env[name].strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or \
                parts.path not in ("", "/"):
            raise ValueError(f"{name} must be an origin like http://127.0.0.1:4322, got "
                             f"{env[name]!r}")
    extra = {"session_secret": env["PARTNER_SESSION_SECRET"]} \
        if env.get("PARTNER_SESSION_SECRET") else {}
    return Config(env["PARTNER_URL"].strip().rstrip("/"), env["LANDING_URL"].strip()
                  .rstrip("/"), env["PARTNER_CLIENT_ID"].strip(),
                  env["PARTNER_CLIENT_SECRET"].strip(), **extra)


def _env() -> dict[str, str]:
    """.env overlaid by .env.local (found from the working directory up), then the
    environment: as the other apps read their settings."""
    values: dict[str, str] = {}
    for name in (".env", ".env.local"):
        if path := find_dotenv(name, usecwd=True):
            values |= {k: v for k, v in dotenv_values(Path(path)).items() if v is not None}
    return {**values, **os.environ}


def _port_problem(host: str, port: int) -> str | None:
    try:
        with socket.create_server((host, port)):
            return None
    except OSError as exc:
        return "is already taken" if exc.errno == errno.EADDRINUSE \
            else f"cannot be used ({exc.strerror or exc})"


def main(argv: Sequence[str] | None = None) -> int:
    _parser().parse_args(argv)
    try:
        config = load_config(_env())
    except ValueError as exc:
        print(f"partner: {exc}", file=sys.stderr)
        return 2
    url = urlsplit(config.partner_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    host = os.environ.get("BIND_HOST", "127.0.0.1")
    if problem := _port_problem(host, port):
        print(f"partner: port {port} (PARTNER_URL {config.partner_url}) on {host} "
              f"{problem}; stop what uses it or change PARTNER_URL", file=sys.stderr)
        return 1
    import uvicorn

    from partner.app import create_app

    uvicorn.run(create_app(config), host=host, port=port, proxy_headers=False,
                server_header=False, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
