"""What every part of the provider shares: `OpenIDProvider` (`core.openid`) is made of a
part per job (clients, authorization, tokens, log-out, consents), each a plain object in
its module holding this context and only the other parts it uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auth_utils.flows.steps import Steps
    from auth_utils.services.backchannel import Backchannel
    from auth_utils.services.signing_keys import SigningKeys
    from auth_utils.storage import OAuthStore

__all__ = ["ProviderContext"]


@dataclass
class ProviderContext:
    """The provider's settings and services, one instance shared by its parts (so the
    back-channel, set after the provider is built, reaches every part at once)."""

    steps: Steps
    store: OAuthStore
    keys: SigningKeys
    issuer: str  # LANDING_URL exactly: clients compare it character for character
    login_url: str
    clock: Callable[[], datetime]
    # Back-channel log-out: told of each new (session, client); None in a provider
    # without it.
    backchannel: Backchannel | None = None
