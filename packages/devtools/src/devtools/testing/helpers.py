"""Helpers and assertions for tests: wait for a condition, run calls in parallel, read a
metric, find Django's CSRF token, check redirects and stored users."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable

from devtools.testing.environment import LANDING, WEB

__all__ = [
    "assert_only_valid_users",
    "assert_redirect_stays_home",
    "core_user_with_address",
    "csrf_of",
    "csrf_token",
    "leftovers_of",
    "link_token",
    "mail_to",
    "mailed_link",
    "metric_value",
    "parallel",
    "wait_for",
]


def wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def metric_value(text: str, series: str) -> float:
    """The sample of `series` (name and labels, as exposed) in Prometheus text; 0 when
    absent."""
    found = re.search(rf"^{re.escape(series)} ([0-9.e+]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def parallel(n: int, call: Callable[[int], object]) -> Counter:
    """Run `call(i)` in n threads released at once (a barrier), as an attacker's parallel
    requests would arrive; count what the calls returned."""
    barrier, results, lock = threading.Barrier(n), Counter(), threading.Lock()

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        result = call(i)
        with lock:
            results[result] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def csrf_token(page: object, path: str = "/") -> str:
    """Django's CSRF form token from a page's HTML, or from `path` fetched with a client
    (Django's test client or httpx)."""
    if not isinstance(page, str):
        response = page.get(path)  # type: ignore[attr-defined]
        page = response.text if hasattr(response, "text") else response.content.decode()
    token = csrf_of(page)
    assert token, "no CSRF token on the page"
    return token


def csrf_of(page: str) -> str:
    """Django's CSRF form token in a page's HTML ('' when there is none, e.g. a 503)."""
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    return found.group(1) if found else ""


def assert_redirect_stays_home(response_status: int, location: str | None) -> None:
    """A redirect goes to a relative path or to one of the two app origins only."""
    if response_status not in (301, 302, 303, 307, 308):
        return
    from auth_utils import origin_of

    assert location, "redirect without Location"
    if location.startswith("/"):
        assert not location.startswith("//") and "\\" not in location, location
        return
    assert origin_of(location) in {LANDING, WEB}, location


def assert_only_valid_users(database) -> None:
    from auth_utils import validate_username

    for user in database.users.find():
        assert validate_username(user["username"]) is None, user["username"]
        assert user["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def leftovers_of(database, user_id: str, username: str, *, pending: list[str] = (),
                 counters_from: set[str] | None = None, named: str = "") -> dict[str, int]:
    """What the database still holds of a user, collection by collection (all 0 once an
    account is deleted): its counters (by name, id or a `pending` session id; only those
    in `counters_from` when given) and events that name it (its username, or `named` in
    the detail, e.g. a passkey's name)."""
    names = "|".join(re.escape(n) for n in [username, user_id, *pending])
    counters: dict = {"_id": {"$regex": f":(?:{names}):"}}
    if counters_from is not None:
        counters = {"$and": [counters, {"_id": {"$in": sorted(counters_from)}}]}
    naming: list[dict] = [{"username": username}]
    if named:
        naming.append({"detail": {"$regex": re.escape(named)}})
    return {
        "users": database.users.count_documents({"_id": user_id}),
        "sessions": database.sessions.count_documents({"user_id": user_id}),
        "second_factors": database.second_factors.count_documents({"_id": user_id}),
        "passkeys": database.passkeys.count_documents({"user_id": user_id}),
        "webauthn_challenges": database.webauthn_challenges.count_documents(
            {"user_id": user_id}),
        "throttles": database.throttles.count_documents(counters),
        "named events": database.security_events.count_documents({"$or": naming}),
    }


def mail_to(server, address: str, timeout: float = 30.0, subject: str = "", count: int = 1
            ) -> list:
    """The messages `server` (a devtools.mailserver.MailServer) received for `address`
    (whose subject contains `subject`), once `count` have arrived or `timeout` passed."""
    def found() -> list:
        return [r for r in list(server.received) if address in r.rcpt_tos
                and subject in (r.message["Subject"] or "")]

    wait_for(lambda: len(found()) >= count, timeout)
    return found()


def mailed_link(server, address: str, path: str, timeout: float = 30.0) -> str:
    """The newest link containing `path` mailed to `address`; AssertionError when none
    arrives within `timeout` seconds."""
    from devtools.mailserver import links_in

    def links() -> list[str]:
        return [link for r in list(server.received) if address in r.rcpt_tos
                for link in links_in(r.message) if path in link]

    assert wait_for(links, timeout), f"no link with {path!r} mailed to {address}"
    return links()[-1]


def link_token(link: str) -> str:
    """The token at the end of a reset or verification link."""
    return link.rstrip("/").rsplit("/", 1)[1]


def core_user_with_address(core, smtp, name: str = "alice",
                           address: str = "alice@example.com"):
    """`name` signed up on `core` with `address`, verified by the link mailed to `smtp`:
    the sign-up's outcome."""
    out = core.accounts.sign_up(name, "correct horse", ip="1", user_agent="Firefox/130.0",
                                email=address)
    assert out.ok, out
    assert core.email.verify(link_token(mailed_link(smtp, address, "/email/verify/"))).ok
    return out
