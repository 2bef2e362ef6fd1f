"""The storage interface on MongoDB: the one package of auth_utils that wires db_utils
(`accounts.py`: what an account is made of; `operations.py`: what the services keep).

Each store forwards to db_utils' queries on one pymongo `Database` (the process's
connection unless one is given, e.g. a test's monitored client).
"""

from __future__ import annotations

from collections.abc import Callable

from pymongo.database import Database
from pymongo.errors import ConfigurationError

import db_utils
from auth_utils.rules.errors import SettingsError
from auth_utils.storage.mongo.accounts import (
    DatabaseSource,
    MongoIdentityStore,
    MongoPasskeyStore,
    MongoSecondFactorStore,
    MongoSessionStore,
    MongoUserStore,
)
from auth_utils.storage.mongo.operations import (
    MongoCounterStore,
    MongoEventStore,
    MongoInvalidationFeed,
    MongoOAuthStore,
    MongoOutboxStore,
)

__all__ = ["DEFAULT_MONGO_URI", "MongoStorage", "connect_storage"]

DEFAULT_MONGO_URI = db_utils.DEFAULT_MONGO_URI


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
