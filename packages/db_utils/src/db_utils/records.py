"""Plain values returned by the queries, so callers never hold a live mongoengine object."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["SessionRecord", "UserRecord"]


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    username: str
    password_hash: str
    created_at: datetime

    @classmethod
    def from_mongo(cls, doc: dict[str, Any]) -> UserRecord:
        return cls(doc["_id"], doc["username"], doc["password_hash"], doc["created_at"])


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    user_id: str
    username: str
    expires_at: datetime
    created_at: datetime
    last_seen_at: datetime
    user_agent: str = ""
    ip: str = ""

    @classmethod
    def from_mongo(cls, doc: dict[str, Any]) -> SessionRecord:
        return cls(
            id=doc["_id"],
            user_id=doc["user_id"],
            username=doc["username"],
            expires_at=doc["expires_at"],
            created_at=doc["created_at"],
            last_seen_at=doc.get("last_seen_at", doc["created_at"]),
            user_agent=doc.get("user_agent", ""),
            ip=doc.get("ip", ""),
        )

    def to_mongo(self) -> dict[str, Any]:
        return {
            "_id": self.id,
            "user_id": self.user_id,
            "username": self.username,
            "expires_at": self.expires_at,
            "created_at": self.created_at,
            "last_seen_at": self.last_seen_at,
            "user_agent": self.user_agent,
            "ip": self.ip,
        }
