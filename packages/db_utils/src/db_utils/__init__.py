"""MongoDB storage for monorepo-auth: users, sessions, throttle counters, the mail outbox.

Imports no web framework and nothing of auth_utils (which adapts these queries to its
storage interface in `auth_utils.storage.mongo`). Every query takes the pymongo `Database` to
use and raises `DatabaseUnavailable` when MongoDB does not answer; `create_user` raises
`UsernameTaken` when the unique index refuses.
"""

from db_utils import (
    events,
    identities,
    oauth,
    outbox,
    passkeys,
    second_factors,
    sessions,
    throttles,
    users,
)
from db_utils.connection import (
    DEFAULT_MONGO_URI,
    connect,
    current_uri,
    database_name,
    disconnect,
    ensure_indexes,
    get_client,
    get_database,
    new_client,
    on_primary_lost,
    ping,
)
from db_utils.documents import (
    OutboxMessage,
    RetiredUsername,
    SecondFactor,
    SecurityEvent,
    Session,
    Throttle,
    User,
)
from db_utils.errors import (
    ChangeStreamUnsupported,
    DatabaseUnavailable,
    DbError,
    EmailTaken,
    StreamInvalidated,
    UsernameTaken,
)
from db_utils.records import (
    EventRecord,
    IdentityRecord,
    OutboxRecord,
    PasskeyRecord,
    SecondFactorRecord,
    SessionRecord,
    UserRecord,
)

__all__ = [
    "DEFAULT_MONGO_URI",
    "ChangeStreamUnsupported",
    "DatabaseUnavailable",
    "DbError",
    "EmailTaken",
    "EventRecord",
    "IdentityRecord",
    "OutboxMessage",
    "OutboxRecord",
    "PasskeyRecord",
    "RetiredUsername",
    "SecondFactor",
    "SecondFactorRecord",
    "SecurityEvent",
    "Session",
    "SessionRecord",
    "StreamInvalidated",
    "Throttle",
    "User",
    "UserRecord",
    "UsernameTaken",
    "connect",
    "current_uri",
    "database_name",
    "disconnect",
    "ensure_indexes",
    "events",
    "get_client",
    "get_database",
    "identities",
    "new_client",
    "oauth",
    "on_primary_lost",
    "outbox",
    "passkeys",
    "ping",
    "second_factors",
    "sessions",
    "throttles",
    "users",
]
