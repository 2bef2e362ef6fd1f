"""What an account is made of, on MongoDB: users, sessions, second factors, passkeys and
linked identities, each store forwarding to db_utils' queries on one pymongo `Database`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pymongo.database import Database

import db_utils
from auth_utils.storage import AddressTaken
from db_utils import identities as identity_queries
from db_utils import passkeys as passkey_queries
from db_utils import second_factors as factor_queries
from db_utils import sessions as session_queries
from db_utils import users as user_queries

__all__ = ["DatabaseSource", "MongoIdentityStore", "MongoPasskeyStore",
           "MongoSecondFactorStore", "MongoSessionStore", "MongoUserStore"]

DatabaseSource = Callable[[], Database]  # the process's connection, or a test's client


class MongoSessionStore:
    def __init__(self, database: DatabaseSource) -> None:
        self._db = database

    def insert(self, **fields: object) -> db_utils.SessionRecord:
        record = db_utils.SessionRecord(last_seen_at=fields["created_at"], **fields)
        session_queries.insert_session(self._db(), record)
        return record

    def get(self, session_id: str) -> db_utils.SessionRecord | None:
        return session_queries.get_session(self._db(), session_id)

    def peek(self, session_id: str) -> None:
        return None  # no cache here: see auth_utils.services.session_cache

    def refresh(self, session_id: str, *, last_seen_at: datetime,
                expires_at: datetime | None = None,
                verified_at: datetime | None = None) -> None:
        session_queries.update_session(self._db(), session_id, last_seen_at=last_seen_at,
                                       expires_at=expires_at, verified_at=verified_at)

    def delete(self, session_id: str, *, revoke: bool = True) -> bool:
        return session_queries.delete_session(self._db(), session_id)

    def delete_for_user(self, user_id: str, *, keep: str | None = None) -> int:
        return session_queries.delete_user_sessions(self._db(), user_id, keep=keep)

    def trim_for_user(self, user_id: str, keep_newest: int, *, pending: bool = False) -> int:
        return len(session_queries.trim_user_sessions(self._db(), user_id, keep_newest,
                                                      pending=pending))

    def list_for_user(self, user_id: str, now: datetime) -> list[db_utils.SessionRecord]:
        return session_queries.list_user_sessions(self._db(), user_id, now)

    def delete_expired(self, now: datetime) -> int:
        return session_queries.delete_expired_sessions(self._db(), now)

    def count(self, now: datetime | None = None) -> int:
        return session_queries.count_sessions(self._db(), now)


class MongoUserStore:
    def __init__(self, database: DatabaseSource) -> None:
        self._db = database

    def create(self, username: str, password_hash: str, now: datetime, *,
               password_unknown: bool = False) -> db_utils.UserRecord | None:
        try:
            return user_queries.create_user(self._db(), username, password_hash, now=now,
                                            password_unknown=password_unknown)
        except db_utils.UsernameTaken:
            return None

    def by_username(self, username: str) -> db_utils.UserRecord | None:
        return user_queries.get_user_by_username(self._db(), username)

    def by_id(self, user_id: str) -> db_utils.UserRecord | None:
        return user_queries.get_user_by_id(self._db(), user_id)

    def set_password_hash(self, user_id: str, password_hash: str) -> bool:
        return user_queries.set_password_hash(self._db(), user_id, password_hash)

    def list(self, limit: int) -> list[db_utils.UserRecord]:
        return user_queries.list_users(self._db(), limit)

    def count(self) -> int:
        return user_queries.count_users(self._db())

    def set_failures_seen(self, user_id: str, at: datetime) -> None:
        user_queries.set_failures_seen(self._db(), user_id, at)

    def set_disabled(self, user_id: str, at: datetime | None, reason: str = "") -> bool:
        return user_queries.set_disabled(self._db(), user_id, at, reason)

    def mark_deleting(self, user_id: str, at: datetime) -> bool:
        return user_queries.mark_deleting(self._db(), user_id, at)

    def deleting(self, limit: int) -> list[db_utils.UserRecord]:
        return user_queries.list_deleting_users(self._db(), limit)

    def retire(self, username: str, until: datetime) -> None:
        user_queries.retire_username(self._db(), username, until)

    def delete(self, user_id: str) -> bool:
        return user_queries.delete_user(self._db(), user_id)

    def by_email(self, email_key: str) -> db_utils.UserRecord | None:
        return user_queries.get_user_by_email(self._db(), email_key)

    def set_token(self, user_id: str, kind: str, token_hash: str, expires_at: datetime, *,
                  pending_email: str | None = None) -> bool:
        return user_queries.set_token(self._db(), user_id, kind,  # type: ignore[arg-type]
                                      token_hash, expires_at, pending_email=pending_email)

    def by_token(self, kind: str, token_hash: str, now: datetime
                 ) -> db_utils.UserRecord | None:
        return user_queries.user_by_token(self._db(), kind,  # type: ignore[arg-type]
                                          token_hash, now)

    def take_reset_token(self, user_id: str, token_hash: str, now: datetime) -> bool:
        return user_queries.take_reset_token(self._db(), user_id, token_hash, now)

    def take_email_token(self, user_id: str, token_hash: str, address: str, key: str,
                         now: datetime) -> bool:
        try:
            return user_queries.take_email_token(self._db(), user_id, token_hash, address,
                                                 key, now)
        except db_utils.EmailTaken as exc:
            raise AddressTaken(address) from exc

    def remove_email(self, user_id: str) -> bool:
        return user_queries.remove_email(self._db(), user_id)

    def remember_browser(self, user_id: str, browser_key: str, keep: int) -> bool:
        return user_queries.remember_browser(self._db(), user_id, browser_key, keep)


class MongoPasskeyStore:
    def __init__(self, database: DatabaseSource) -> None:
        self._db = database

    def add(self, **fields: object) -> bool:
        return passkey_queries.add_passkey(self._db(), db_utils.PasskeyRecord(**fields))

    def get(self, credential_id: str) -> db_utils.PasskeyRecord | None:
        return passkey_queries.get_passkey(self._db(), credential_id)

    def for_user(self, user_id: str) -> list[db_utils.PasskeyRecord]:
        return passkey_queries.list_passkeys(self._db(), user_id)

    def use(self, credential_id: str, old_count: int, new_count: int, at: datetime) -> bool:
        return passkey_queries.use_passkey(self._db(), credential_id, old_count, new_count, at)

    def rename(self, user_id: str, credential_id: str, name: str) -> bool:
        return passkey_queries.rename_passkey(self._db(), user_id, credential_id, name)

    def delete(self, user_id: str, credential_id: str) -> bool:
        return passkey_queries.delete_passkey(self._db(), user_id, credential_id)

    def delete_for_user(self, user_id: str) -> int:
        return passkey_queries.delete_user_passkeys(self._db(), user_id)

    def put_challenge(self, challenge: str, purpose: str, user_id: str,
                      expires_at: datetime) -> None:
        passkey_queries.put_challenge(self._db(), challenge, purpose, user_id, expires_at)

    def spend_challenge(self, challenge: str, expires_at: datetime) -> bool:
        return passkey_queries.spend_challenge(self._db(), challenge, expires_at)

    def take_challenge(self, challenge: str, purpose: str, now: datetime) -> str | None:
        return passkey_queries.take_challenge(self._db(), challenge, purpose, now)


class MongoIdentityStore:
    def __init__(self, database: DatabaseSource) -> None:
        self._db = database

    def link(self, **fields: object) -> bool:
        return identity_queries.link_identity(self._db(), db_utils.IdentityRecord(**fields))

    def get(self, issuer: str, subject: str) -> db_utils.IdentityRecord | None:
        return identity_queries.get_identity(self._db(), issuer, subject)

    def for_user(self, user_id: str) -> list[db_utils.IdentityRecord]:
        return identity_queries.list_identities(self._db(), user_id)

    def touch(self, identity_id: str, at: datetime) -> None:
        identity_queries.touch_identity(self._db(), identity_id, at)

    def unlink(self, user_id: str, identity_id: str) -> bool:
        return identity_queries.unlink_identity(self._db(), user_id, identity_id)

    def delete_for_user(self, user_id: str) -> int:
        return identity_queries.delete_user_identities(self._db(), user_id)

    def put_flow(self, key_hash: str, purpose: str, data: dict, expires_at: datetime
                 ) -> None:
        identity_queries.put_flow(self._db(), key_hash, purpose, data, expires_at)

    def take_flow(self, key_hash: str, purpose: str, now: datetime) -> dict | None:
        return identity_queries.take_flow(self._db(), key_hash, purpose, now)

    def peek_flow(self, key_hash: str, purpose: str, now: datetime) -> dict | None:
        return identity_queries.peek_flow(self._db(), key_hash, purpose, now)


class MongoSecondFactorStore:
    def __init__(self, database: DatabaseSource) -> None:
        self._db = database

    def get(self, user_id: str) -> db_utils.SecondFactorRecord | None:
        return factor_queries.get_second_factor(self._db(), user_id)

    def save_pending(self, user_id: str, sealed_secret: str, now: datetime) -> bool:
        return factor_queries.save_pending_second_factor(self._db(), user_id, sealed_secret, now)

    def use_step(self, user_id: str, step: int) -> bool:
        return factor_queries.use_time_step(self._db(), user_id, step)

    def enable(self, user_id: str, recovery_hashes: list[str]) -> bool:
        return factor_queries.enable_second_factor(self._db(), user_id, recovery_hashes)

    def use_recovery(self, user_id: str, code_hash: str) -> bool:
        return factor_queries.use_recovery_code(self._db(), user_id, code_hash)

    def set_recovery(self, user_id: str, recovery_hashes: list[str]) -> bool:
        return factor_queries.set_recovery_codes(self._db(), user_id, recovery_hashes)

    def delete(self, user_id: str, *, pending_only: bool = False) -> bool:
        return factor_queries.delete_second_factor(self._db(), user_id,
                                                   pending_only=pending_only)

    def trust(self, user_id: str, entry: dict, keep: int) -> bool:
        return factor_queries.trust_browser(self._db(), user_id, entry, keep)

    def forget(self, user_id: str, browser_id: str | None = None) -> bool:
        return factor_queries.forget_browsers(self._db(), user_id, browser_id)
