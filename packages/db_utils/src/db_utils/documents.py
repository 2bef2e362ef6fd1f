"""The MongoDB collections, declared once with their indexes: the schema's one source.

Hot paths read and write the collections directly (plain pymongo) to skip mongoengine's
per-document overhead, but every insert is validated by these declarations first
(`validated`), and the record types in `records.py` are generated from them.
"""

from __future__ import annotations

from typing import Any

from mongoengine import DateTimeField, Document, IntField, StringField

__all__ = ["ALL_DOCUMENTS", "Session", "Throttle", "User", "validated"]


class User(Document):
    id = StringField(primary_key=True)
    # Already normalized by auth_utils; the unique index decides who gets a name.
    username = StringField(required=True, unique=True, max_length=31)
    password_hash = StringField(required=True, max_length=512)
    created_at = DateTimeField(required=True)

    meta = {"collection": "users", "auto_create_index": False}


class Session(Document):
    # SHA-256 hex of the token: the raw token only ever lives in the cookie.
    id = StringField(primary_key=True, min_length=64, max_length=64)
    user_id = StringField(required=True)
    # Copied from the user so that validating a request is one `find_one`.
    # Usernames never change; deleting a user deletes their sessions.
    username = StringField(required=True, max_length=31)
    expires_at = DateTimeField(required=True)
    created_at = DateTimeField(required=True)
    last_seen_at = DateTimeField(required=True)
    user_agent = StringField(default="", max_length=512)
    ip = StringField(default="", max_length=64)

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


def validated(document: type[Document], record: Any) -> dict[str, Any]:
    """`record` (a value with the document's fields) as stored, once the document's own
    rules (required, lengths) accepted it; raises mongoengine's ValidationError."""
    instance = document(**{name: getattr(record, name) for name in document._fields})
    instance.validate()
    return instance.to_mongo().to_dict()
