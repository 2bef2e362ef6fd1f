"""`uv run dev`: the local database (when needed), the landing app, the web app, the
example partner app (apps/partner, when PARTNER_URL is set: .env sets it) and a local
SMTP server that prints each message the apps send (when SMTP_URL is local).

Prints the URLs once every app answers; Ctrl-C stops everything and leaves nothing behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from auth_utils import Settings, SettingsError, load_settings
from auth_utils.config import load_dotenv_files
from devtools.dbserver import (
    DATA_DIR,
    LocalDatabase,
    describe_process,
    listener_of,
    local_address,
    port_answers,
)
from devtools.processes import (
    AppProcess,
    CommandParser,
    describe_exit,
    die_with_parent,
    interrupt_on,
    stop_interrupting,
    wait_answering,
)

if TYPE_CHECKING:
    from devtools.mailserver import MailServer

_IMPORTED = time.monotonic()  # _since_start's fallback

DB_RESTARTS = 3  # times a local database that dies is started again before dev gives up

# One process per app, no autoreloader: a reloader is a second process (uvicorn's can
# deadlock in its own signal handler) that a parent's death signal does not reach.
APP_ARGS = {"landing": ("--no-reload",), "web": ("--noreload",)}
PARTNER_RECORD = DATA_DIR / "partner.json"  # the example's client id and secret (0600)


def _parser() -> argparse.ArgumentParser:
    return CommandParser(
        prog="dev",
        description="Start the local database (when MONGO_URI points at this machine and "
                    "nothing answers there), the landing app, the web app and the example "
                    "partner app (an app on another site that logs in through the landing "
                    "app's OpenID Connect provider; on PARTNER_URL, registered once as a "
                    "client, its credentials kept in .data/partner.json; PARTNER_URL empty: "
                    "not started); print the URLs once they answer. Mail the apps send "
                    "(password-reset and verification links) goes to a local SMTP server "
                    "started here when SMTP_URL points at this machine (default "
                    "smtp://127.0.0.1:8025): each message is printed as one line with its "
                    "link (`uv run mail` runs that server alone). Ctrl-C (or SIGTERM) stops "
                    "everything. A local database that dies is restarted; an app that dies "
                    "stops everything.",
        epilog="Settings come from the environment, .env and .env.local (see README.md). "
               "The apps run without code reloading here; for that run one alone: "
               "`uv run landing --reload`, `uv run web`.",
    )


def _fail(message: str) -> int:
    print(f"dev: {message}", file=sys.stderr, flush=True)
    return 1


# Where a running `uv run dev` of this checkout says what it serves, so a second one says
# "already running, here" instead of tripping over its ports or its data directory.
RUNNING = DATA_DIR / "dev.json"


def _already_running() -> dict | None:
    """The record of another live `uv run dev` from this checkout, if there is one (a
    record left by a killed one names a process that is gone, and is ignored)."""
    try:
        record = json.loads(RUNNING.read_text(encoding="utf-8"))
        pid = int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return record


def _record_running(settings: Settings) -> None:
    DATA_DIR.mkdir(exist_ok=True)
    RUNNING.write_text(json.dumps({"pid": os.getpid(), "landing": settings.landing_url,
                                   "web": settings.web_url}), encoding="utf-8")


def _forget_running() -> None:
    if _already_running() is None:  # ours (or nobody's): never another live one's
        with contextlib.suppress(OSError):
            RUNNING.unlink()


def _since_start() -> float:
    """Seconds since this process started, its own imports included: what a developer
    waits for after typing `uv run dev` (less uv's own start, a few tens of ms)."""
    try:  # Linux: the start time in clock ticks since boot (psutil rounds to 1 s here)
        started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - started / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


def _by(port: int) -> str:
    """" by <who>" for what listens on `port` here, when that can be told."""
    pid = listener_of(port)
    return f" by {describe_process(pid)}" if pid else ""


def _bind(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return os.environ.get("BIND_HOST", "127.0.0.1"), parts.port or 80


def _database_reachable(uri: str) -> bool:
    import db_utils  # here: pymongo is a quarter of a second `dev` need not wait for

    db_utils.connect(uri)
    try:
        return db_utils.ping(timeout=3.0)
    finally:
        db_utils.disconnect()


class _DevDatabase(LocalDatabase):
    """The local database, which the kernel stops (SIGTERM) if `dev` is killed outright."""

    def command(self) -> list[str]:
        return die_with_parent(super().command())


def _supervise(apps: list[AppProcess], db: _DevDatabase | None) -> int:
    """Until an app dies (say which and how) or the database dies too often."""
    restarts = 0
    while True:
        for app in apps:
            assert app.process is not None
            code = app.process.poll()
            if code is not None:
                return _fail(f"the {app.module} app exited ({describe_exit(code)}); "
                             "stopping the others")
        if db is not None and db.process is not None and db.process.poll() is not None:
            how = describe_exit(db.process.returncode)
            if restarts == DB_RESTARTS:
                return _fail(f"the local database exited ({how}) after {restarts} restarts; "
                             f"see {db.log_path}; stopping")
            restarts += 1
            print(f"dev: the local database exited ({how}); restarting it on "
                  f"{db.host}:{db.port} ({restarts} of {DB_RESTARTS})", file=sys.stderr,
                  flush=True)
            try:
                db.start()
            except RuntimeError as exc:
                return _fail(f"could not restart the local database: {exc}; stopping")
        time.sleep(0.5)


def _stop(apps: list[AppProcess], db: LocalDatabase | None, mail: MailServer | None) -> None:
    for app in apps:  # all at once, then wait for each
        app.terminate()
    for app in apps:
        app.stop()
    if mail is not None:
        mail.stop()
    if db is not None:
        db.stop()


def _start_mail(settings: Settings) -> MailServer | None:
    """The local SMTP server when SMTP_URL points at a free port here; one line says where
    mail goes either way."""
    # Imported here, once the apps are starting: `dev` itself starts in a fifth of a
    # second, and the apps' imports are what a warm start waits for.
    from auth_utils.rules.smtp import SmtpTarget
    from devtools.mailserver import MailServer, local_smtp_address, summary

    if not settings.mail:
        print("dev: mail       off (MAIL=off): nothing is sent", flush=True)
        return None
    address = local_smtp_address(settings.smtp_url)
    if address is None:
        print(f"dev: mail       goes to {SmtpTarget.parse(settings.smtp_url)} (SMTP_URL)",
              flush=True)
        return None
    host, port = address
    if port_answers(host, port):
        print(f"dev: mail       {host}:{port} (already running{_by(port)}: read the "
              "messages where that server prints them)", flush=True)
        return None
    server = MailServer(host, port, on_message=lambda received: print(
        f"mail: {summary(received)}", flush=True))
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        print(f"dev: mail       could not listen on {host}:{port} ({exc}); messages wait "
              "in the outbox until an SMTP server answers there", flush=True)
        return None
    print(f"dev: mail       smtp://{host}:{port} (a local SMTP server: each message the "
          "apps send is printed here, with its link)", flush=True)
    return server


def _register_partner(settings: Settings, partner_url: str) -> tuple[str, str]:
    """The example's client at our provider: the one kept in .data/partner.json, or a new
    one (one line says so; the secret is never printed)."""
    from auth_utils import build_core  # here: the core is a second of imports
    from devtools.partner import ensure_client

    core = build_core(settings, cache=False, throttling=False)
    try:
        client_id, secret, new = ensure_client(core.openid, partner_url, PARTNER_RECORD)
    finally:
        core.close()
    if new:
        print(f"dev: partner    registered as client {client_id} (third-party: its users "
              f"are asked to consent once; credentials in {PARTNER_RECORD})", flush=True)
    return client_id, secret


def run(settings: Settings) -> int:
    db: _DevDatabase | None = None
    mail: MailServer | None = None
    apps: list[AppProcess] = []
    if other := _already_running():
        return _fail(f"already running from this checkout (pid {other['pid']}): landing "
                     f"{other.get('landing')}, web {other.get('web')}; use it, or stop it "
                     "(Ctrl-C where it runs) before starting another")
    env = {**load_dotenv_files(), **os.environ}
    partner_url = env.get("PARTNER_URL", "").strip().rstrip("/")
    urls = {"landing": (settings.landing_url, "LANDING_URL"),
            "web": (settings.web_url, "WEB_URL"),
            **({"partner": (partner_url, "PARTNER_URL")} if partner_url else {})}
    for name, (url, variable) in urls.items():
        host, port = _bind(url)
        if port_answers(host, port):
            # By what: another checkout's `dev` on the same default ports is the usual
            # case, and its window may be anywhere.
            return _fail(f"port {port} for the {name} app ({url}) is already taken{_by(port)}"
                         f"; stop it or change {variable}")
    address = local_address(settings.mongo_uri)
    safe_uri = settings.mongo_uri.split("@")[-1]
    interrupt_on(signal.SIGTERM, signal.SIGINT)
    _record_running(settings)
    try:
        # Everything starts at once (the apps take longer to import than the database
        # to answer, and an app that finds no database retries): on two cores this is
        # what brings a warm start under 3 s. "ready" waits for each app's /healthz to
        # answer 200, i.e. for the apps to reach the database.
        if address is not None and not port_answers(*address):
            db = _DevDatabase(DATA_DIR / "db", host=address[0], port=address[1],
                              sync_on_commit=True, log_path=DATA_DIR / "db.log")
            try:
                db.launch()
            except RuntimeError as exc:
                return _fail(f"could not start the local database on "
                             f"{address[0]}:{address[1]}: {exc}")
        elif not _database_reachable(settings.mongo_uri):
            return _fail(f"cannot reach the database at {safe_uri}; "
                         "check MONGO_URI (or start it with `uv run db`)")
        env = {**load_dotenv_files(), **os.environ}
        apps += [AppProcess(module, env, args=APP_ARGS[module]).start()
                 for module in APP_ARGS]
        if db is not None:
            try:
                db.wait_answering()
            except RuntimeError as exc:
                return _fail(f"could not start the local database on "
                             f"{address[0]}:{address[1]}: {exc}")
            print(f"dev: database   {address[0]}:{address[1]} (SecantusDB, data in "
                  f"{DATA_DIR / 'db'})", flush=True)
        else:
            running = f"already running{_by(address[1])}" if address else "already running"
            print(f"dev: database   {safe_uri} ({running})", flush=True)
        mail = _start_mail(settings)
        if partner_url:  # after the database: its client is registered there
            try:
                client = _register_partner(settings, partner_url)
            except ValueError as exc:  # a PARTNER_URL the provider cannot register
                return _fail(f"cannot register the partner app for PARTNER_URL "
                             f"{partner_url}: {exc}")
            from devtools.partner import partner_env, partner_process

            apps.append(partner_process(partner_env(env, partner_url, settings.landing_url,
                                                    *client)).start())
        binds = {app: _bind(url) for app, (url, _) in zip(apps, urls.values(), strict=True)}
        failed = wait_answering([(app, f"http://{host}:{port}/healthz")
                                 for app, (host, port) in binds.items()], status=200)
        if failed is not None:
            assert failed.process is not None
            code = failed.process.poll()
            how = "it is not answering" if code is None else describe_exit(code)
            host, port = binds[failed]
            return _fail(f"the {failed.module} app did not start on {host}:{port} ({how}); "
                         "see its output above")
        partner_line = f"  partner  {partner_url}  (an example app on another site)\n" \
            if partner_url else ""
        print(f"\n  landing  {settings.landing_url}\n  web      {settings.web_url}\n"
              f"{partner_line}\ndev: ready in {_since_start():.1f} s (Ctrl-C to stop)",
              flush=True)
        return _supervise(apps, db)
    except KeyboardInterrupt:
        print("\ndev: stopping...", flush=True)
        return 0
    finally:
        try:
            stop_interrupting()
            _stop(apps, db, mail)
        except KeyboardInterrupt:  # the one signal landed here, before stop_interrupting()
            _stop(apps, db, mail)
        _forget_running()


def main(argv: Sequence[str] | None = None) -> int:
    _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _fail(str(exc))
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
