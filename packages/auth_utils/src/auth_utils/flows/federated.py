"""What the outside-provider flows exchange with an app: the provider buttons, where to
send the browser, what a callback came to; and how their pending steps are stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from auth_utils.flows.lifecycle import Closed
from auth_utils.flows.outcomes import Outcome, Result

__all__ = ["FLOW_TTL", "INTENTS", "OUTSIDE", "STARTED_ELSEWHERE", "Begun", "Federated",
           "ProviderChoice", "flow_key"]

FLOW_TTL = timedelta(minutes=10)
INTENTS = ("login", "link")
STARTED_ELSEWHERE = ("This log-in did not start in this browser, has expired or was "
                     "already used. Please start again.")
OUTSIDE = Closed(Result.INVALID, None, "This account no longer exists.")


def flow_key(value: str) -> str:
    """Flows are stored under a hash of their key: a copy of the database cannot answer a
    callback or finish a sign-up."""
    return hashlib.sha256(f"oidc-flow:{value}".encode()).hexdigest()


@dataclass(frozen=True)
class ProviderChoice:
    id: str
    name: str


@dataclass(frozen=True)
class Begun:
    """Send the browser to `url`; keep `state` in the browser (a short-lived cookie) to
    show at the callback."""

    url: str
    state: str


@dataclass(frozen=True)
class Federated:
    """What a callback, or a chosen username, came to. `action`: "login" (a session in
    `outcome`, maybe pending a second factor), "signup" (a new identity: pick a username
    with `signup_token`), "linked", or "refused" (`outcome.message`, `status`)."""

    action: str
    outcome: Outcome
    status: int = 200
    next: str = ""
    signup_token: str = ""
    provider: str = ""  # the provider's display name
    suggested: str = field(default="")  # a username to offer on the sign-up page

    @classmethod
    def refused(cls, status: int, message: str, *, result: Result = Result.INVALID,
                field_name: str | None = None, username: str = "", next: str = "",
                signup_token: str = "", provider: str = "",
                retry_after: int | None = None) -> Federated:
        return cls("refused", Outcome(result, message, field_name, username,
                                      retry_after=retry_after),
                   status, next, signup_token, provider)
