"""`uv run dev`: the local database (when needed), the landing app and the web app.

Prints the two URLs once both answer; Ctrl-C stops all three and leaves nothing behind.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from urllib.parse import urlsplit

import db_utils
from auth_utils import Settings, SettingsError, load_settings
from auth_utils.config import load_dotenv_files
from devtools.dbserver import DATA_DIR, LocalDatabase, local_address, port_answers
from devtools.processes import AppProcess, interrupt_on, wait_until_answers


def _fail(message: str) -> int:
    print(f"dev: {message}", file=sys.stderr, flush=True)
    return 1


def _bind(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return os.environ.get("BIND_HOST", "127.0.0.1"), parts.port or 80


def _database_reachable(uri: str) -> bool:
    db_utils.connect(uri)
    try:
        return db_utils.ping(timeout=3.0)
    finally:
        db_utils.disconnect()


def run(settings: Settings) -> int:
    db: LocalDatabase | None = None
    apps: list[AppProcess] = []
    for name, url in (("landing", settings.landing_url), ("web", settings.web_url)):
        host, port = _bind(url)
        if port_answers(host, port):
            return _fail(f"port {port} for the {name} app ({url}) is already taken; "
                         "stop what uses it or change "
                         f"{'LANDING_URL' if name == 'landing' else 'WEB_URL'}")
    address = local_address(settings.mongo_uri)
    safe_uri = settings.mongo_uri.split("@")[-1]
    interrupt_on(signal.SIGTERM, signal.SIGINT)
    try:
        if address is not None and not port_answers(*address):
            db = LocalDatabase(DATA_DIR / "db", host=address[0], port=address[1],
                               sync_on_commit=True, log_path=DATA_DIR / "db.log")
            try:
                db.start()
            except RuntimeError as exc:
                return _fail(f"could not start the local database on "
                             f"{address[0]}:{address[1]}: {exc}")
            print(f"dev: database   {address[0]}:{address[1]} (SecantusDB, data in "
                  f"{DATA_DIR / 'db'})", flush=True)
        elif not _database_reachable(settings.mongo_uri):
            return _fail(f"cannot reach the database at {safe_uri}; "
                         "check MONGO_URI (or start it with `uv run db`)")
        else:
            print(f"dev: database   {safe_uri} (already running)", flush=True)
        env = {**load_dotenv_files(), **os.environ}
        for module in ("landing", "web"):
            apps.append(AppProcess(module, env).start())
        for app, url in zip(apps, (settings.landing_url, settings.web_url), strict=True):
            host, port = _bind(url)
            if not wait_until_answers(f"http://{host}:{port}/healthz", 60, app):
                return _fail(f"the {app.module} app did not start on {host}:{port}; "
                             "see its output above")
        print(f"\n  landing  {settings.landing_url}\n  web      {settings.web_url}\n\n"
              "dev: ready (Ctrl-C to stop)", flush=True)
        while all(app.alive() for app in apps) and (db is None or db.process.poll() is None):
            time.sleep(0.5)
        return _fail("a process exited unexpectedly; stopping the others")
    except KeyboardInterrupt:
        print("\ndev: stopping...", flush=True)
        return 0
    finally:
        for app in apps:
            app.stop()
        if db is not None:
            db.stop()


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _fail(str(exc))
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
