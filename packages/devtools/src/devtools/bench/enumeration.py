"""Does "Forgot your password?" tell a known name or address from an unknown one? The
same answer (status and body) and the same cost, measured over HTTP on a real landing
process: known and unknown usernames, and known and unknown addresses, asked in
interleaved samples (known then unknown, then the other way round, so drift on a shared
machine weighs on both alike). What a known request sets off after the answer (the
lookup, the token, the mail) is let finish before the next sample (its link has reached
the SMTP server, then `pause` for the sender to mark it delivered; every sample is
followed by the same pause): otherwise it lands on whichever request comes next, mostly
an unknown one, and that is what a naive measurement compares (1.2-1.4x, unknown slower).

Used by `uv run bench` (section 11) and tests/test_recovery_e2e.py; the limits on reset
requests must be lifted on the landing process measured (RESET_MAX_PER_ACCOUNT,
RESET_MAX_PER_IP), every sample comes from one client."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import httpx

__all__ = ["KNOWN", "Timing", "measure", "prepare"]

KNOWN = ("reset-timing", "reset-timing@example.com")
UNKNOWN = ("reset-timing-nobody", "reset-timing-nobody@example.com")


@dataclass
class Timing:
    """One pair's samples (ms) and the distinct answers seen (status, body without what
    was typed)."""

    label: str
    known_ms: list[float] = field(default_factory=list)
    unknown_ms: list[float] = field(default_factory=list)
    answers: set[tuple[int, str]] = field(default_factory=set)

    @property
    def known_median(self) -> float:
        return statistics.median(self.known_ms)

    @property
    def unknown_median(self) -> float:
        return statistics.median(self.unknown_ms)

    @property
    def ratio(self) -> float:
        """The slower median over the faster one (1.0: the same cost)."""
        high, low = sorted((self.known_median, self.unknown_median), reverse=True)
        return high / low

    def row(self) -> str:
        return (f"  {self.label:<9} known p50 {self.known_median:6.2f} ms, unknown p50 "
                f"{self.unknown_median:6.2f} ms, ratio {self.ratio:.2f}x "
                f"({len(self.known_ms)}+{len(self.unknown_ms)} samples, "
                f"{len(self.answers)} distinct answer{'s' * (len(self.answers) != 1)})")


def prepare(landing_url: str, smtp, password: str, origin: str | None = None) -> None:
    """The known account: signed up on `landing_url` with its address, verified by the
    link mailed to `smtp` (a devtools.mailserver.MailServer the landing process mails).
    `origin`: the landing app's LANDING_URL, when it is not `landing_url`."""
    from urllib.parse import urlsplit

    from devtools.testing.helpers import mailed_link

    headers = {"Origin": origin or landing_url}
    with httpx.Client(follow_redirects=False, timeout=30, headers=headers) as client:
        r = client.post(f"{landing_url}/signup", data={
            "username": KNOWN[0], "password": password, "email": KNOWN[1]})
        if r.status_code != 303:
            raise RuntimeError(f"sign-up answered {r.status_code}")
        link = urlsplit(mailed_link(smtp, KNOWN[1], "/email/verify/", timeout=30))
        r = client.post(f"{landing_url}{link.path}")
        if r.status_code != 200:
            raise RuntimeError(f"verification answered {r.status_code}")


def measure(landing_url: str, smtp, samples: int = 60, pause: float = 0.05,
            origin: str | None = None) -> list[Timing]:
    """`samples` requests for each of the known and unknown username and address, over
    one keep-alive connection (as a patient attacker would: no connection set-up in the
    timing), after a few unmeasured ones; `smtp`: the server the landing process mails."""
    from devtools.testing.helpers import wait_for

    def to_known() -> int:
        return sum(KNOWN[1] in r.rcpt_tos for r in list(smtp.received))

    mailed = [to_known()]

    def settled() -> None:  # a known request's link has arrived: its work is done
        mailed[0] += 1
        if not wait_for(lambda: to_known() >= mailed[0], 30):
            raise RuntimeError(f"no reset link reached {smtp.url} within 30 s")

    pairs = {"username": (KNOWN[0], UNKNOWN[0]), "address": (KNOWN[1], UNKNOWN[1])}
    timings = {label: Timing(label) for label in pairs}
    with httpx.Client(follow_redirects=False, timeout=30,
                      headers={"Origin": origin or landing_url}) as client:

        def ask(asked: str) -> tuple[float, int, str]:
            start = time.perf_counter()
            r = client.post(f"{landing_url}/password/reset", data={"identifier": asked})
            elapsed = (time.perf_counter() - start) * 1000
            if asked in KNOWN:
                settled()
            time.sleep(pause)
            return elapsed, r.status_code, r.text.replace(asked, "ASKED")

        for known, unknown in pairs.values():  # warm-up: templates, connections, caches
            for asked in (known, unknown) * 2:
                ask(asked)
        for i in range(samples):
            for label, (known, unknown) in pairs.items():
                order = (known, unknown) if i % 2 == 0 else (unknown, known)
                for asked in order:
                    elapsed, status, body = ask(asked)
                    timing = timings[label]
                    (timing.known_ms if asked == known else timing.unknown_ms).append(elapsed)
                    timing.answers.add((status, body))
    return list(timings.values())
