"""The users of `uv run loadtest` (a locustfile: run by locust in its own process, whose
gevent monkey-patching stays there). `--host` is the landing app; the web app's URL and
the journal file come from LOADTEST_WEB_URL and LOADTEST_JOURNAL.

- visitors read the landing page and the two forms;
- members sign up (new) or log in (returning), browse the web app for a while, open
  /account (some change their password), and log out;
- with `--fault mail`, resetters ask for password resets ("Forgot your password?") of the
  accounts with a verified address listed in LOADTEST_RESET_ACCOUNTS (by address, by
  username), and of names and addresses that have no account.
Every request is recorded in the journal with its start time and status, and so are the
sign-ups and log-outs that were answered 303, and the reset requests for a verified
account answered 200 (what the fault checkers must find kept).
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from locust import HttpUser, between, events, task

from devtools.loadtest.journal import CONNECTION_ERROR, Journal
from devtools.loadtest.workload import PASSWORD
from devtools.testing.helpers import csrf_of

WEB_URL = os.environ.get("LOADTEST_WEB_URL", "http://127.0.0.1:3000")
journal = Journal(Path(os.environ["LOADTEST_JOURNAL"])) if os.environ.get(
    "LOADTEST_JOURNAL") else Journal()
_serial = iter(range(10**9))
# "username email" pairs, comma-separated: accounts whose verified address gets the links
RESET_ACCOUNTS = [tuple(pair.split(" ")) for pair in os.environ.get(
    "LOADTEST_RESET_ACCOUNTS", "").split(",") if pair]


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, response: object = None,
            start_time: float | None = None, **_: object) -> None:
    app, _, path = name.partition(" ")
    status = getattr(response, "status_code", None) or CONNECTION_ERROR
    journal.request(start_time or time.time() - response_time / 1000, response_time / 1000,
                    app, f"{request_type} {path}", status)


class _Base(HttpUser):
    abstract = True

    def call(self, app: str, method: str, path: str, ok: tuple[int, ...] = (200,),
             **kw: object):
        """One request, named `<app> <path>` in the report; a success when its status is
        one of `ok` (anything else, 503 during an outage included, is a failure)."""
        base = self.host if app == "landing" else WEB_URL
        with self.client.request(method, base + path, name=f"{app} {path}",
                                 allow_redirects=False, catch_response=True,
                                 **kw) as response:  # type: ignore[arg-type]
            if response.status_code in ok:
                response.success()
            else:
                response.failure(f"status {response.status_code}")
        return response


class Visitor(_Base):
    """Reads the public pages; never logs in."""

    weight = 2
    wait_time = between(1, 3)

    @task(3)
    def landing_page(self) -> None:
        self.call("landing", "GET", "/")

    @task(1)
    def forms(self) -> None:
        self.call("landing", "GET", random.choice(["/signup", "/login"]))


class Member(_Base):
    """Signs up once, then comes back: logs in, browses, sometimes changes the password,
    logs out. One visit in five is by a brand-new account."""

    weight = 3
    wait_time = between(0.5, 2)
    username: str | None = None
    password = PASSWORD

    def _landing_post(self, path: str, form: dict) -> bool:
        r = self.call("landing", "POST", path, ok=(303,), data=form,
                      headers={"Origin": self.host})
        return r.status_code == 303

    def _sign_up(self) -> bool:
        self.call("landing", "GET", "/signup")
        name = f"m{os.getpid()}x{next(_serial)}x{time.time_ns() % 10**6}"
        if self._landing_post("/signup", {"username": name, "password": PASSWORD}):
            journal.signed_up(name, time.time())
            self.username, self.password = name, PASSWORD
            return True
        return False

    def _log_in(self) -> bool:
        self.call("landing", "GET", "/login")
        return self._landing_post("/login", {"username": self.username,
                                             "password": self.password})

    def _change_password(self) -> None:
        page = self.call("web", "GET", "/account")
        if page.status_code != 200:  # e.g. 503 in an outage: no form to send
            return
        new = f"{PASSWORD} {random.randrange(10**6)}"
        r = self.call("web", "POST", "/account/password", ok=(303,),
                      headers={"Origin": WEB_URL},
                      data={"csrfmiddlewaretoken": csrf_of(page.text),
                            "current_password": self.password, "new_password": new,
                            "confirm_password": new})
        if r.status_code == 303:
            self.password = new

    def _log_out(self) -> None:
        token = self.client.cookies.get("auth_session")
        page = self.call("web", "GET", "/")
        if page.status_code == 200:  # a page with the log-out form (not a 503)
            r = self.call("web", "POST", "/logout", ok=(303,), headers={"Origin": WEB_URL},
                          data={"csrfmiddlewaretoken": csrf_of(page.text)})
            if r.status_code == 303 and token:
                journal.logged_out(token, time.time())
        self.client.cookies.clear()

    @task
    def visit(self) -> None:
        self.call("landing", "GET", "/")
        new = self.username is None or random.random() < 0.2
        if not (self._sign_up() if new else self._log_in()):
            self.client.cookies.clear()
            return
        for _ in range(random.randint(2, 6)):  # browse the web app for a while
            self.wait()
            self.call("web", "GET", random.choice(["/", "/", "/account", "/account/activity",
                                                   "/account/security"]))
        if random.random() < 0.15:
            self._change_password()
        self._log_out()


class Resetter(_Base):
    """Forgot the password: asks for a reset link, mostly for an account with a verified
    address (by the address or by the username: a link is mailed), sometimes for a name
    or an address with no account (the same page, nothing mailed). Only with
    LOADTEST_RESET_ACCOUNTS (`--fault mail`)."""

    abstract = not RESET_ACCOUNTS
    weight = 2
    wait_time = between(0.5, 2)

    def _ask(self, identifier: str) -> bool:
        self.call("landing", "GET", "/password/reset")
        r = self.call("landing", "POST", "/password/reset", data={"identifier": identifier},
                      headers={"Origin": self.host})
        return r.status_code == 200

    @task(4)
    def known(self) -> None:
        username, address = random.choice(RESET_ACCOUNTS)
        identifier = address if random.random() < 0.5 else username
        if self._ask(identifier):
            journal.reset_asked(identifier, time.time())

    @task(1)
    def unknown(self) -> None:
        n = random.randrange(10**9)
        self._ask(random.choice([f"nobody{n}", f"nobody{n}@example.com"]))
