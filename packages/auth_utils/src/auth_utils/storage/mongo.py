"""The storage interface on MongoDB: the one module of auth_utils that wires db_utils.

Each store forwards to db_utils' queries on one pymongo `Database` (the process's
connection unless one is given, e.g. a test's monitored client).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime

from pymongo.database import Database
from pymongo.errors import ConfigurationError

import db_utils
from auth_utils.rules.errors import SettingsError
from auth_utils.storage import AddressTaken, Evict, FeedUnsupported, Flush, Invalidation
from db_utils import events as event_queries
from db_utils import identities as identity_queries
from db_utils import oauth as oauth_queries
from db_utils import outbox as outbox_queries
from db_utils import passkeys as passkey_queries
from db_utils import second_factors as factor_queries
from db_utils import sessions as session_queries
from db_utils import throttles as counter_queries
from db_utils import users as user_queries

__all__ = ["DEFAULT_MONGO_URI", "MongoStorage", "connect_storage"]

DEFAULT_MONGO_URI = db_utils.DEFAULT_MONGO_URI
FEED_APP_NAME = "session-feed"  # the change stream's own client, as the server sees it

DatabaseSource = Callable[[], Database]


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


class MongoOAuthStore:
    """The provider's storage: each call forwards to db_utils.oauth on the database."""

    _records = {"add_client": db_utils.records.OAuthClientRecord,
                "put_code": db_utils.records.OAuthCodeRecord,
                "put_token": db_utils.records.OAuthTokenRecord,
                "put_consent": db_utils.records.OAuthConsentRecord,
                "add_key": db_utils.records.SigningKeyRecord,
                "arm_logout": db_utils.records.BackchannelLogoutRecord}

    def __init__(self, database: DatabaseSource) -> None:
        self._db = database

    def __getattr__(self, name: str) -> Callable:
        query = getattr(oauth_queries, name)
        record = self._records.get(name)
        if record is not None:
            return lambda **fields: query(self._db(), record(**fields))
        return lambda *args, **kwargs: query(self._db(), *args, **kwargs)


class MongoEventStore:
    def __init__(self, database: DatabaseSource) -> None:
        self._db = database

    def add(self, **fields: object) -> None:
        event_queries.insert_event(self._db(), db_utils.EventRecord(**fields))

    def for_user(self, user_id: str, skip: int, limit: int) -> list[db_utils.EventRecord]:
        return event_queries.list_user_events(self._db(), user_id, skip, limit)

    def count_for_user(self, user_id: str, kinds: list[str], since: datetime, *,
                       not_session_ref: str = "") -> int:
        return event_queries.count_user_events(self._db(), user_id, kinds, since,
                                               not_session_ref=not_session_ref)

    def query(self, *, user_id: str | None, since: datetime | None, kind: str | None,
              limit: int) -> list[db_utils.EventRecord]:
        return event_queries.query_events(self._db(), user_id=user_id, since=since,
                                          kind=kind, limit=limit)

    def anonymize(self, user_id: str, name_kinds: list[str]) -> int:
        return event_queries.anonymize_user_events(self._db(), user_id, name_kinds)


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


class MongoOutboxStore:
    def __init__(self, database: DatabaseSource) -> None:
        self._db = database

    def add(self, **fields: object) -> None:
        outbox_queries.enqueue_message(self._db(), db_utils.OutboxRecord(
            **fields, next_attempt_at=fields["created_at"]))

    def claim(self, now: datetime, lease_until: datetime, lease: str, sender: str,
              retry: outbox_queries.Retry) -> db_utils.OutboxRecord | None:
        return outbox_queries.claim_next(self._db(), now, lease_until, lease, sender, retry)

    def delivered(self, mail: db_utils.OutboxRecord, now: datetime) -> bool:
        return outbox_queries.mark_delivered(self._db(), mail.id, now)

    def failed(self, mail: db_utils.OutboxRecord, now: datetime, error: str,
               retry: outbox_queries.Retry, *, permanent: bool = False) -> str:
        return outbox_queries.record_failure(self._db(), mail, now, error, retry,
                                             permanent=permanent)

    def release(self, mail: db_utils.OutboxRecord, now: datetime) -> bool:
        return outbox_queries.release_claim(self._db(), mail, now)

    def requeue(self, now: datetime, message_id: str | None = None) -> int:
        return outbox_queries.requeue_failed(self._db(), now, message_id)

    def get(self, message_id: str) -> db_utils.OutboxRecord | None:
        return outbox_queries.get_message(self._db(), message_id)

    def list(self, status: str | None, limit: int) -> list[db_utils.OutboxRecord]:
        return outbox_queries.list_messages(self._db(), status, limit)

    def counts(self) -> dict[str, int]:
        return outbox_queries.count_by_status(self._db())


class MongoCounterStore:
    def __init__(self, database: DatabaseSource) -> None:
        self._db = database

    def hit(self, key: str, window_seconds: int, now: datetime, amount: int = 1
            ) -> tuple[int, datetime]:
        return counter_queries.hit_counter(self._db(), key, window_seconds, now, amount)

    def clear(self, key: str, window_seconds: int, now: datetime) -> None:
        counter_queries.clear_counter(self._db(), key, window_seconds, now)

    def forget(self, keys: list[str]) -> int:
        return counter_queries.forget_counters(self._db(), keys)


class MongoInvalidationFeed:
    """Deletions from a change stream on a client of its own: a failing stream never
    marks the request path's server unknown (which would fail every request for the
    seconds until pymongo's next check)."""

    def __init__(self, database_name: str | None = None) -> None:
        self._database_name = database_name

    @contextlib.contextmanager
    def watch(self, max_await: float) -> Iterator[Iterator[Invalidation | None]]:
        client = db_utils.new_client(app_name=FEED_APP_NAME)
        try:
            name = self._database_name or db_utils.database_name(db_utils.current_uri() or "")
            with session_queries.watch_session_deletes(
                    client[name], max_await_ms=max(1, int(max_await * 1000))) as deletes:
                yield self._invalidations(deletes)
        except db_utils.ChangeStreamUnsupported as exc:
            raise FeedUnsupported(str(exc)) from exc
        finally:
            client.close()

    @staticmethod
    def _invalidations(deletes: Iterator[str | None]) -> Iterator[Invalidation | None]:
        try:
            for session_id in deletes:
                yield None if session_id is None else Evict(session_id)
        except (db_utils.StreamInvalidated, db_utils.DatabaseUnavailable) as exc:
            yield Flush(str(exc))


class MongoStorage:
    """Sessions, users, counters, second factors, events, passkeys, the mail outbox and the
    invalidation feed on one MongoDB database."""

    Unavailable = db_utils.DatabaseUnavailable

    def __init__(self, database: Database | None = None) -> None:
        self._database = database
        source: DatabaseSource = (lambda: database) if database is not None \
            else db_utils.get_database
        self.sessions = MongoSessionStore(source)
        self.users = MongoUserStore(source)
        self.counters = MongoCounterStore(source)
        self.second_factors = MongoSecondFactorStore(source)
        self.events = MongoEventStore(source)
        self.passkeys = MongoPasskeyStore(source)
        self.outbox = MongoOutboxStore(source)
        self.identities = MongoIdentityStore(source)
        self.oauth = MongoOAuthStore(source)
        self.invalidations = MongoInvalidationFeed(database.name if database is not None
                                                   else None)

    def prepare(self) -> None:
        db_utils.ensure_indexes(self._database)

    def ping(self, timeout: float = 1.0) -> bool:
        return db_utils.ping(timeout)

    def on_unreachable(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Tell `callback` as soon as the driver's monitor loses the primary."""
        return db_utils.on_primary_lost(callback)


def connect_storage(mongo_uri: str) -> MongoStorage:
    """The process's storage on `mongo_uri` (connecting is lazy: no I/O here); a URI
    that cannot be parsed is a SettingsError naming MONGO_URI, not a traceback."""
    try:
        db_utils.connect(mongo_uri)
    except (ConfigurationError, ValueError) as exc:  # InvalidURI is a ConfigurationError
        raise SettingsError(f"MONGO_URI is not a usable MongoDB URI: {exc}") from None
    return MongoStorage()
