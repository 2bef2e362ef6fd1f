"""What the services keep on MongoDB: the activity events, the mail outbox, throttle
counters, our OpenID provider's records, and the change stream the session cache listens
to."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime

import db_utils
from auth_utils.storage import Evict, FeedUnsupported, Flush, Invalidation
from auth_utils.storage.mongo.accounts import DatabaseSource
from db_utils import events as event_queries
from db_utils import oauth as oauth_queries
from db_utils import outbox as outbox_queries
from db_utils import sessions as session_queries
from db_utils import throttles as counter_queries

__all__ = ["MongoCounterStore", "MongoEventStore", "MongoInvalidationFeed", "MongoOAuthStore",
           "MongoOutboxStore"]

FEED_APP_NAME = "session-feed"  # the change stream's own client, as the server sees it


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
