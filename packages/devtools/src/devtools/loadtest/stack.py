"""The whole system as a deployment runs it, on free loopback ports: a local SecantusDB
with `--sync-on-commit` (as `uv run dev`), and both apps with several workers each through
`devtools.serving`. Used by `uv run loadtest` and the fault tests, so both see the same
system and the same serving setup.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from auth_utils.config import load_dotenv_files
from devtools.dbserver import LocalDatabase, free_port
from devtools.processes import AppProcess, die_with_parent, start_answering
from devtools.serving import landing_server, web_server
from devtools.testing.helpers import wait_for

__all__ = ["GENEROUS_THROTTLES", "LoadStack"]

# Every load-test client comes from 127.0.0.1, so one address makes all the sign-ups,
# log-ins and reset requests (of a few accounts, over and over): the per-address limits
# would turn the run into 429s after a few seconds.
GENEROUS_THROTTLES = {
    "LOGIN_MAX_FAILURES_PER_USER": "100000",
    "LOGIN_MAX_FAILURES_PER_IP": "1000000",
    "SIGNUP_MAX_PER_IP": "1000000",
    "HASHING_MAX_PER_CLIENT": "1000",
    "RESET_MAX_PER_IP": "1000000",
    "RESET_MAX_PER_ACCOUNT": "1000000",
}


class _Database(LocalDatabase):
    """The local database, stopped by the kernel if the process that started it dies."""

    def command(self) -> list[str]:
        return die_with_parent(super().command())


class LoadStack:
    """Database + landing + web on loopback; `start()`, then `stop()` (idempotent)."""

    def __init__(self, workdir: Path, *, workers: int = 2, test_commands: bool = False,
                 overrides: dict[str, str] | None = None) -> None:
        self.workdir = Path(workdir)
        self.workers = workers
        self.db = _Database(self.workdir / "db" / "data", sync_on_commit=True,
                            test_commands=test_commands, log_path=self.workdir / "db.log")
        self.ports = {"landing": free_port(), "web": free_port()}
        self.landing_url = f"http://127.0.0.1:{self.ports['landing']}"
        self.web_url = f"http://127.0.0.1:{self.ports['web']}"
        self.env = {
            **load_dotenv_files(), **os.environ, **GENEROUS_THROTTLES,
            "MONGO_URI": self.db.uri, "LANDING_URL": self.landing_url,
            "WEB_URL": self.web_url, "COOKIE_DOMAIN": "", "TRUSTED_PROXIES": "",
            **(overrides or {}),
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.apps: dict[str, AppProcess] = {}

    @property
    def urls(self) -> dict[str, str]:
        return {"landing": self.landing_url, "web": self.web_url}

    def start(self) -> LoadStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db.start()
        try:
            for name, server in (("landing", landing_server), ("web", web_server)):
                # docs/deploy.md §5: one empty metrics directory per app, emptied at start.
                metrics = self.workdir / f"{name}-metrics"
                shutil.rmtree(metrics, ignore_errors=True)
                metrics.mkdir(parents=True)
                module, args = server(self.ports[name], self.workers)
                self.apps[name] = AppProcess(
                    module, {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)},
                    args=args, log_path=self.workdir / f"{name}.log")
            failed = start_answering([(app, f"{self.urls[name]}/healthz")
                                      for name, app in self.apps.items()])
            for name, app in self.apps.items():
                if app is failed:
                    raise RuntimeError(f"the {name} app did not start; see {app.log_path}")
                if not self._all_workers_up(name):
                    raise RuntimeError(f"the {name} app did not start {self.workers} workers")
        except BaseException:
            self.stop()
            raise
        return self

    def _all_workers_up(self, name: str, timeout: float = 30.0) -> bool:
        return wait_for(lambda: len(self.worker_pids(name)) >= self.workers, timeout)

    def worker_pids(self, name: str) -> list[int]:
        """The worker processes of one app: the children of its server's master process
        (uvicorn's multiprocessing helper excluded)."""
        app = self.apps[name]
        if app.process is None:
            return []
        try:
            children = psutil.Process(app.process.pid).children()
        except psutil.NoSuchProcess:
            return []
        pids = []
        for child in children:
            try:
                if "resource_tracker" not in " ".join(child.cmdline()):
                    pids.append(child.pid)
            except psutil.Error:
                continue
        return sorted(pids)

    def port_of(self, name: str) -> int:
        return urlsplit(self.urls[name]).port or 80

    def stop(self) -> None:
        for app in self.apps.values():
            app.terminate()
        for app in self.apps.values():
            app.stop()
        self.db.stop()
