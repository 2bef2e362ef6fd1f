"""The example partner app (apps/partner) as `uv run dev` and the tests run it: its client
registration at our provider, and its process.

It is registered as a *third-party*, confidential client: it stands for an app on another
domain (a partner site), so its users see our consent page once, can list and withdraw it
in /account, and it authenticates with a secret, as such an app would. Under `dev` the
registration is made once and kept in `.data/partner.json` (git-ignored, owner-only), so
no secret is printed at each start; it is made again when the database lost the client or
PARTNER_URL changed.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devtools.processes import AppProcess

__all__ = ["NAME", "client_fields", "ensure_client", "partner_env", "partner_process"]

NAME = "Partner (example app)"  # what the consent page and /account show


def client_fields(partner_url: str) -> dict[str, Any]:
    """How the example registers (`core.openid.register(**...)`): its callback, where
    the provider sends it back after log-out, and its back-channel log-out endpoint."""
    return {"name": NAME, "redirect_uris": [f"{partner_url}/callback"],
            "post_logout_redirect_uris": [f"{partner_url}/"],
            "backchannel_logout_uri": f"{partner_url}/backchannel-logout",
            "public": False, "first_party": False}


def ensure_client(openid: Any, partner_url: str, record: Path) -> tuple[str, str, bool]:
    """(client id, secret, newly registered): the client kept in `record` while the
    database still has it with these URIs; otherwise a new one (the stale one removed)."""
    fields = client_fields(partner_url)
    kept: dict = {}
    with contextlib.suppress(OSError, ValueError):
        kept = json.loads(record.read_text(encoding="utf-8"))
    found = openid.store.get_client(kept.get("client_id", "")) if kept else None
    if found is not None and list(found.redirect_uris) == fields["redirect_uris"] and \
            found.backchannel_logout_uri == fields["backchannel_logout_uri"] and \
            openid.server.query_client(found.id).check_client_secret(
                kept.get("client_secret", "")):
        return kept["client_id"], kept["client_secret"], False
    if found is not None:
        openid.remove(found.id)
    client_id, secret = openid.register(**fields)
    record.parent.mkdir(parents=True, exist_ok=True)
    # Owner-only from its creation: the secret never sits readable by others.
    fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"client_id": client_id, "client_secret": secret,
                   "partner_url": partner_url}, out)
    return client_id, secret, True


def partner_env(env: Mapping[str, str], partner_url: str, landing_url: str,
                client_id: str, secret: str) -> dict[str, str]:
    """The partner process's environment: `env` plus what it must know."""
    return {**env, "PARTNER_URL": partner_url, "LANDING_URL": landing_url,
            "PARTNER_CLIENT_ID": client_id, "PARTNER_CLIENT_SECRET": secret}


def partner_process(env: Mapping[str, str], *, log_path: Path | None = None) -> AppProcess:
    """`python -m partner` (started by the caller, e.g. with start_answering on
    PARTNER_URL/healthz)."""
    return AppProcess("partner", env, log_path=log_path)
