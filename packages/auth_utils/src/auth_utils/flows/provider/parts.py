"""What every part of the provider holds: `OpenIDProvider` is one object (`core.openid`)
made of a part per job (clients, authorization, tokens, log-out, consents), each in its
module, all reading these attributes (set by `OpenIDProvider.__init__`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auth_utils.flows.steps import Steps
    from auth_utils.services.backchannel import Backchannel
    from auth_utils.services.signing_keys import SigningKeys
    from auth_utils.storage import OAuthStore

__all__ = ["Parts"]


class Parts:
    """The state the provider's parts share (declared here for readers and checkers)."""

    steps: Steps
    store: OAuthStore
    keys: SigningKeys
    issuer: str
    login_url: str
    clock: Callable[[], datetime]
    server: Any  # server._Server: Authlib's, with our grants
    backchannel: Backchannel | None
