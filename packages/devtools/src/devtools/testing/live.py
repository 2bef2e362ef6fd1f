"""Both apps as real server processes, for the end-to-end and browser tests."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from devtools.dbserver import free_port
from devtools.partner import client_fields, partner_env, partner_process
from devtools.processes import AppProcess, start_answering
from devtools.serving import landing_server, web_server
from devtools.testing.environment import TEST_ENV

__all__ = ["LiveSystem", "running_system", "start_live_system", "start_partner"]


@dataclass
class LiveSystem:
    """Both apps as real server processes (as in development) on free loopback ports."""

    landing_url: str
    web_url: str
    env: dict
    processes: list = field(default_factory=list)  # AppProcess of landing, web


def start_live_system(database_uri: str, artifacts: Path, *, workers: int | None = None,
                      ready_path: str = "/healthz", **overrides: str):
    """Start landing and web as real processes: `python -m landing` / `python -m web`
    (as in development), or with `workers` as production serves them (devtools.serving:
    granian and uvicorn, that many processes each); ready once
    `ready_path` answers (a path that needs no database when there is none)."""
    env = {
        **os.environ, **TEST_ENV, "MONGO_URI": database_uri,
        "LANDING_URL": f"http://localhost:{free_port()}",
        "WEB_URL": f"http://localhost:{free_port()}",
        **overrides,
    }
    if "SMTP_URL" not in overrides:
        # Mail is queued but this system delivers none: every live system shares the
        # suite's database and so one outbox, and a sender whose SMTP server is not there
        # would claim another system's messages and put them off by its backoff (30 s).
        env["MAIL_SENDER"] = "off"
    env.pop("DJANGO_SETTINGS_MODULE", None)
    artifacts.mkdir(parents=True, exist_ok=True)
    ports = [urlsplit(env[k]).port for k in ("LANDING_URL", "WEB_URL")]
    if workers is None:
        commands = [("landing", ()), ("web", ("--noreload",))]
    else:
        commands = [landing_server(ports[0], workers), web_server(ports[1], workers)]
    procs = [AppProcess(module, env, args=args, log_path=artifacts / f"{name}.log")
             for name, (module, args) in zip(("landing", "web"), commands, strict=True)]
    failed = start_answering([(proc, f"http://127.0.0.1:{port}{ready_path}")
                              for proc, port in zip(procs, ports, strict=True)])
    if failed is not None:
        for p in procs:
            p.stop()
        raise RuntimeError(f"{failed.module} did not start; see {artifacts}")
    return LiveSystem(env["LANDING_URL"], env["WEB_URL"], env, procs), procs


def start_partner(system: LiveSystem, openid: object, artifacts: Path
                  ) -> tuple[str, AppProcess]:
    """The example partner app (apps/partner) as a real process for `system`, on another
    site (http://127.0.0.1:PORT while the apps are on localhost), registered through
    `openid` (a core's provider on the same database) as `uv run dev` registers it:
    (its URL, its process; the caller stops it)."""
    url = f"http://127.0.0.1:{free_port()}"
    client_id, secret = openid.register(**client_fields(url))  # type: ignore[attr-defined]
    process = partner_process(partner_env(system.env, url, system.landing_url, client_id,
                                          secret), log_path=artifacts / "partner.log")
    if start_answering([(process, f"{url}/healthz")]) is not None:
        process.stop()
        raise RuntimeError(f"the partner app did not start; see {artifacts}")
    return url, process


@contextlib.contextmanager
def running_system(**overrides: str) -> Iterator[LiveSystem]:
    """A database of its own (a temporary directory) and both apps as real processes, for
    a command outside pytest (`uv run page-scores`, `uv run readme-screenshots`); all of it
    stopped and removed on exit."""
    from devtools.dbserver import LocalDatabase

    with (tempfile.TemporaryDirectory(prefix="live-system-") as work,
          LocalDatabase(Path(work) / "db", sync_on_commit=False) as db):
        system, processes = start_live_system(db.uri, Path(work) / "apps", **overrides)
        try:
            yield system
        finally:
            for process in processes:
                process.stop()
