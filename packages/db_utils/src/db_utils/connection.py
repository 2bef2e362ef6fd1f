"""One MongoDB client per process, made from `MONGO_URI`, and the start-up index build."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC
from urllib.parse import unquote, urlsplit

import mongoengine
import pymongo
from pymongo import MongoClient
from pymongo.database import Database

from db_utils.errors import translate_errors
from db_utils.monitoring import PRIMARY_WATCH

__all__ = [
    "DEFAULT_MONGO_URI",
    "connect",
    "current_uri",
    "database_name",
    "disconnect",
    "ensure_indexes",
    "get_client",
    "get_database",
    "new_client",
    "on_primary_lost",
    "ping",
]

DEFAULT_MONGO_URI = (
    "mongodb://127.0.0.1:27017/monorepo_auth?retryWrites=false&directConnection=true"
)
DEFAULT_DB_NAME = "monorepo_auth"

# Bounded waits so an outage turns into a quick 503 instead of pymongo's 30 s default.
# A URI that sets any of these keeps its own value. Server selection is what the first
# calls of a crash wait for (later ones fail at once: auth_utils.services.availability); under
# Django's one request thread per worker the requests queued behind such a call wait it
# too, so 1 s keeps every answer of an outage within 2.5 s (2 s gave 2.9 s).
_TIMEOUTS_MS = {
    "serverSelectionTimeoutMS": 1000,
    "connectTimeoutMS": 2000,
    "socketTimeoutMS": 10000,
    # A hung server (stopped, or a dead network path: connections open, nothing answers)
    # is only found when an operation gives up waiting: each operation as a whole
    # (selection, checkout, every round trip) gets this budget (pymongo's CSOT), so a
    # hang is found as fast as a crash, not after the 10 s socket timeout.
    "timeoutMS": 1000,
}

INDEX_BUILD_SECONDS = 600.0

_lock = threading.Lock()
_connected_uri: str | None = None


def database_name(uri: str) -> str:
    """The database named in the URI's path, or `monorepo_auth` when it names none."""
    path = urlsplit(uri).path.lstrip("/")
    return unquote(path) or DEFAULT_DB_NAME


# Times come back aware, in the standard library's UTC (C code) rather than bson's own
# Python tzinfo: comparing them then calls no Python per comparison, and the session
# rules compare five times per validation (issue 28).
_CODEC = {"tz_aware": True, "tzinfo": UTC, "uuidRepresentation": "standard"}


def _options(uri: str, *, budget: bool = True) -> dict[str, int]:
    lowered = uri.lower()
    return {k: v for k, v in _TIMEOUTS_MS.items()
            if k.lower() not in lowered and (budget or k != "timeoutMS")}


def current_uri() -> str | None:
    """The URI this process is connected to, if any."""
    return _connected_uri


def new_client(uri: str | None = None, app_name: str | None = None) -> MongoClient:
    """A client of its own (e.g. for a change stream, so its failures never mark the
    request path's server unknown); the caller closes it. Without the per-operation
    budget: a change stream's wait for changes is as long as its caller asks."""
    uri = uri or _connected_uri or os.environ.get("MONGO_URI") or DEFAULT_MONGO_URI
    extra = {"appname": app_name} if app_name else {}
    return MongoClient(uri, **_CODEC, **_options(uri, budget=False), **extra)


def connect(uri: str | None = None) -> MongoClient:
    """Connect mongoengine's default alias; calling it again with the same URI is free."""
    global _connected_uri
    uri = uri or os.environ.get("MONGO_URI") or DEFAULT_MONGO_URI
    with _lock:
        if _connected_uri == uri:
            return mongoengine.get_connection()
        if _connected_uri is not None:
            mongoengine.disconnect()
        client = mongoengine.connect(
            db=database_name(uri), host=uri, **_CODEC,
            event_listeners=[PRIMARY_WATCH], **_options(uri),
        )
        _connected_uri = uri
        return client


def disconnect() -> None:
    """Close the process's client (tests, and `dev` on shutdown)."""
    global _connected_uri
    with _lock:
        if _connected_uri is not None:
            mongoengine.disconnect()
            _connected_uri = None


def get_client() -> MongoClient:
    """The process's client, connecting from the environment on first use."""
    return connect() if _connected_uri is None else mongoengine.get_connection()


def get_database() -> Database:
    """The application database (for raw queries on hot paths)."""
    get_client()
    return mongoengine.get_db()


@translate_errors
def ensure_indexes(database: Database | None = None) -> None:
    """Create the indexes the documents declare (idempotent; run at every start-up), on
    the process's database or on `database`."""
    from db_utils.documents import ALL_DOCUMENTS

    database = database if database is not None else get_database()
    # First a ping within the request budget: under `pymongo.timeout` below, server
    # selection waits as long as that timeout (CSOT), so a database that is not there
    # would hold an app's start-up for ten minutes instead of failing in a second.
    database.command("ping")
    # Building a new index on a large collection takes longer than a request's budget
    # (`timeoutMS`).
    with pymongo.timeout(INDEX_BUILD_SECONDS):
        for document in ALL_DOCUMENTS:
            collection = database[document._meta["collection"]]
            for spec in document._meta["index_specs"]:
                options = {k: v for k, v in spec.items() if k != "fields"}
                collection.create_index(spec["fields"], **options)


def on_primary_lost(callback: Callable[[str], None]) -> Callable[[], None]:
    """Call `callback(reason)` whenever the process's client loses its primary (seen by
    the driver's monitor, before any operation times out); returns the unsubscribe."""
    return PRIMARY_WATCH.subscribe(callback)


def ping(timeout: float = 1.0) -> bool:
    """True when the server answers a ping within `timeout` seconds (health checks)."""
    try:
        with pymongo.timeout(timeout):
            get_client().admin.command("ping")
    except Exception:  # any failure means "not healthy"; /healthz says 503
        return False
    return True
