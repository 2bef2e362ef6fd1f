"""The MongoDB collections, declared once with their indexes.

Hot paths read and write through `Document._get_collection()` (plain pymongo) to skip
mongoengine's per-document overhead; the declarations here stay the source of truth
for the schema and the indexes.
"""

from __future__ import annotations

from mongoengine import DateTimeField, Document, IntField, StringField

__all__ = ["ALL_DOCUMENTS", "Session", "Throttle", "User"]


class User(Document):
    id = StringField(primary_key=True)
    # Already normalized by auth_utils; the unique index decides who gets a name.
    username = StringField(required=True, unique=True, max_length=31)
    password_hash = StringField(required=True)
    created_at = DateTimeField(required=True)

    meta = {"collection": "users", "auto_create_index": False}


class Session(Document):
    # SHA-256 hex of the token: the raw token only ever lives in the cookie.
    id = StringField(primary_key=True)
    user_id = StringField(required=True)
    # Copied from the user so that validating a request is one `find_one`.
    # Usernames never change; deleting a user deletes their sessions.
    username = StringField(required=True)
    expires_at = DateTimeField(required=True)
    created_at = DateTimeField(required=True)
    last_seen_at = DateTimeField(required=True)
    user_agent = StringField(default="")
    ip = StringField(default="")

    meta = {
        "collection": "sessions",
        "auto_create_index": False,
        "indexes": [
            "user_id",
            # TTL: MongoDB deletes a session once expires_at has passed (within ~60 s;
            # validation checks expires_at itself and never relies on the sweep).
            {"fields": ["expires_at"], "expireAfterSeconds": 0},
        ],
    }


class Throttle(Document):
    # "<scope>:<key>:<window number>": one counter per key per fixed window.
    id = StringField(primary_key=True)
    count = IntField(required=True, default=0)
    expires_at = DateTimeField(required=True)

    meta = {
        "collection": "throttles",
        "auto_create_index": False,
        "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}],
    }


ALL_DOCUMENTS: tuple[type[Document], ...] = (User, Session, Throttle)
