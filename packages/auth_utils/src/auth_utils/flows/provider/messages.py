"""What the apps pass in and get back (framework-free), and the request as Authlib reads
it: `OAuthRequest` in; `Answer` (an HTTP response to send as is) or `Authorize` (what
the authorization endpoint decided) out; `AllowedClient` for the account page."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request

__all__ = ["AllowedClient", "Answer", "Authorize", "OAuthRequest"]


@dataclass(frozen=True)
class OAuthRequest:
    """One HTTP request, framework-free. `url` is built on LANDING_URL (never from the
    Host header); `params` holds every value of each query or form field."""

    method: str
    url: str
    headers: Mapping[str, str]
    params: Mapping[str, list[str]]


@dataclass
class Answer:
    """An HTTP response to send as is: `body` a dict (JSON) or text."""

    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:  # Authlib's IssuerParameter rewrites it
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "location"]
        self.headers.append(("Location", value))

    @property
    def json(self) -> str:
        return json.dumps(self.body) if isinstance(self.body, dict) else str(self.body)


@dataclass(frozen=True)
class AllowedClient:
    """A client the user allowed (the account page lists them, each with "Revoke")."""

    client_id: str
    name: str
    scopes: tuple[str, ...]
    allowed_at: datetime


@dataclass(frozen=True)
class Authorize:
    """What the authorization endpoint decided. `action`: "redirect" (to `location`: the
    client with a code or an error, or our log-in page), "consent" (show the page for
    `client_name` and `scopes`), or "error" (a page, never a redirect: the client or its
    redirect URI could not be trusted)."""

    action: str
    location: str = ""
    status: int = 400
    message: str = ""
    client_name: str = ""
    scopes: tuple[str, ...] = ()


class _Payload(OAuth2Payload):
    def __init__(self, params: Mapping[str, list[str]]) -> None:
        self._datalist = {k: list(v) for k, v in params.items()}
        self._data = {k: v[0] for k, v in params.items() if v}

    @property
    def data(self) -> dict:
        return self._data

    @property
    def datalist(self) -> dict:
        return self._datalist


class _Request(OAuth2Request):
    def __init__(self, request: OAuthRequest) -> None:
        super().__init__(request.method, request.url, headers=request.headers)
        self.payload = _Payload(request.params)

    @property
    def args(self) -> dict:
        return self.payload.data

    @property
    def form(self) -> dict:
        return self.payload.data
