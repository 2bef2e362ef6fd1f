"""A small in-process workload for the suite's fault tests (locust is for the command):
a few threads that sign up, browse the web app, log out and log in again, every request
recorded in a Journal."""

from __future__ import annotations

import itertools
import time

import httpx

from devtools.loadtest.journal import CONNECTION_ERROR, Journal
from devtools.loadtest.loops import Loops
from devtools.loadtest.stack import LoadStack
from devtools.testing.helpers import csrf_of

__all__ = ["PASSWORD", "Workload"]

PASSWORD = "correct horse battery"  # noqa: S105 - load-test accounts on loopback
_names = itertools.count()


class Workload:
    """`users` threads, each in a loop: sign up, open the web app and /account, log out,
    log in, log out. `start()`, then `stop()` (bounded: each thread stops within one
    request's timeout)."""

    def __init__(self, stack: LoadStack, journal: Journal, users: int = 4,
                 prefix: str = "w") -> None:
        self.stack, self.journal, self.prefix = stack, journal, prefix
        self.users, self._loops = users, Loops()

    def start(self) -> Workload:
        self._loops.start(self._user, (() for _ in range(self.users)))
        return self

    def stop(self) -> None:
        self._loops.stop()

    def _call(self, client: httpx.Client, app: str, method: str, path: str,
              **kw: object) -> httpx.Response | None:
        url = self.stack.urls[app] + path
        at, start = time.time(), time.perf_counter()
        try:
            response = client.request(method, url, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError:
            response = None
        self.journal.request(at, time.perf_counter() - start, app, f"{method} {path}",
                             response.status_code if response is not None
                             else CONNECTION_ERROR)
        return response

    def _log_out(self, client: httpx.Client) -> None:
        token = client.cookies.get("auth_session")
        page = self._call(client, "web", "GET", "/")
        if page is not None and page.status_code == 200:  # the form is there (not a 503)
            r = self._call(client, "web", "POST", "/logout",
                           headers={"Origin": self.stack.web_url},
                           data={"csrfmiddlewaretoken": csrf_of(page.text)})
            if r is not None and r.status_code == 303 and token:
                self.journal.logged_out(token, time.time())
        client.cookies.clear()

    def _user(self) -> None:
        landing = {"Origin": self.stack.landing_url}
        with httpx.Client(follow_redirects=False, timeout=15) as client:
            while not self._loops.stopping.is_set():
                name = f"{self.prefix}{next(_names)}x{time.time_ns() % 10**9}"
                form = {"username": name, "password": PASSWORD}
                r = self._call(client, "landing", "POST", "/signup", headers=landing,
                               data=form)
                if r is None or r.status_code != 303:
                    client.cookies.clear()
                    time.sleep(0.1)
                    continue
                self.journal.signed_up(name, time.time())
                self._call(client, "web", "GET", "/account")
                self._log_out(client)
                r = self._call(client, "landing", "POST", "/login", headers=landing,
                               data=form)
                if r is not None and r.status_code == 303:
                    self._log_out(client)
                client.cookies.clear()
