"""MongoDB storage for monorepo-auth: users, sessions, throttle counters.

Imports no web framework. Every function raises `DatabaseUnavailable` when MongoDB
does not answer, and `create_user` raises `UsernameTaken` when the unique index refuses.
"""

from db_utils import sessions, throttles, users
from db_utils.connection import (
    DEFAULT_MONGO_URI,
    connect,
    database_name,
    disconnect,
    ensure_indexes,
    get_client,
    get_database,
    ping,
)
from db_utils.documents import Session, Throttle, User
from db_utils.errors import DatabaseUnavailable, DbError, UsernameTaken
from db_utils.records import SessionRecord, UserRecord

__all__ = [
    "DEFAULT_MONGO_URI",
    "DatabaseUnavailable",
    "DbError",
    "Session",
    "SessionRecord",
    "Throttle",
    "User",
    "UserRecord",
    "UsernameTaken",
    "connect",
    "database_name",
    "disconnect",
    "ensure_indexes",
    "get_client",
    "get_database",
    "ping",
    "sessions",
    "throttles",
    "users",
]
