"""What our OpenID Connect provider stores: clients, codes, tokens, consents, signing keys
and back-channel log-outs (auth_utils.flows.provider, auth_utils.services.backchannel)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from auth_utils.storage.records import RetryPolicy

__all__ = ["OAuthStore"]


class OAuthStore(Protocol):
    """Our OpenID Connect provider's clients, codes, tokens, consents and signing keys
    (records as in db_utils.records; codes and tokens under their SHA-256)."""

    def add_client(self, **fields: object) -> None: ...

    def get_client(self, client_id: str) -> object | None: ...

    def list_clients(self) -> list: ...

    def remove_client(self, client_id: str) -> bool:
        """The client and its tokens, codes and consents."""

    def put_code(self, **fields: object) -> None: ...

    def use_code(self, code_hash: str, client_id: str, now: datetime
                 ) -> tuple[object | None, object | None]:
        """Use a code up, atomically: (code, None); (None, the used code) for a replay."""

    def put_token(self, **fields: object) -> None: ...

    def get_token(self, token_hash: str) -> object | None: ...

    def use_refresh_token(self, token_hash: str, client_id: str, now: datetime
                          ) -> tuple[object | None, object | None]:
        """Rotate atomically: (token, None); (None, token) when it is reused."""

    def revoke_family(self, family: str, now: datetime) -> int: ...

    def revoke_token(self, token_hash: str, now: datetime) -> bool: ...

    def revoke_for_session(self, session_id: str, now: datetime) -> list[str]: ...

    def put_consent(self, **fields: object) -> None: ...

    def get_consent(self, user_id: str, client_id: str) -> object | None: ...

    def consents_for_user(self, user_id: str) -> list: ...

    def delete_consent(self, user_id: str, client_id: str, now: datetime) -> bool:
        """Revoke the client's tokens and unused codes for the user, then the consent;
        False when there was no consent."""

    def add_key(self, **fields: object) -> None: ...

    def keys(self, now: datetime) -> list:
        """Published signing keys, newest first."""

    def set_key_state(self, kid: str, state: str, *, from_state: str) -> bool: ...

    def retire_keys(self, state: str, expires_at: datetime) -> int: ...

    # back-channel log-out (a queue with leases, as the mail outbox)
    def arm_logout(self, **fields: object) -> None:
        """Remember a (session, client) pair to tell when the session ends."""

    def end_logouts(self, now: datetime, *, sessions_now: datetime | None = None,
                    user_id: str | None = None, session_id: str | None = None,
                    limit: int = 1000) -> int:
        """Make due the armed pairs whose session is gone or expired; how many."""

    def withdraw_logouts(self, user_id: str, client_id: str, now: datetime) -> int:
        """Make due now the user's armed pairs with the client (its access withdrawn)."""

    def claim_logout(self, now: datetime, lease_until: datetime, lease: str, sender: str,
                     retry: RetryPolicy, *, issuer: str | None = None) -> object | None:
        """The oldest due pending pair armed under `issuer` (or under none), leased."""

    def logout_delivered(self, id: str, now: datetime) -> bool: ...

    def fail_unclaimed_logouts(self, now: datetime, issuer: str, older_than: timedelta
                               ) -> int:
        """Pending pairs of another issuer, unclaimed for `older_than`: failed; how many."""

    def logout_failed(self, claimed: object, now: datetime, error: str,
                      retry: RetryPolicy, *, permanent: bool = False) -> str: ...

    def release_logout(self, claimed: object, now: datetime) -> bool: ...

    def list_logouts(self, status: str | None = None, limit: int = 100, *,
                     client_id: str | None = None) -> list:
        """Newest first."""

    def count_logouts(self) -> dict[str, int]:
        """Records by status: armed, pending, delivered, failed."""

    def requeue_logouts(self, now: datetime, client_id: str | None = None) -> int:
        """Failed records due again now, attempts from zero; how many."""
