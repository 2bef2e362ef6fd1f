"""Plain values returned by the queries, generated from the documents (one schema).

A record is a frozen dataclass with the document's fields, in declaration order, so
callers never hold a live mongoengine object and a new field needs one edit only.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)

from db_utils.documents import (
    BackchannelLogout,
    LinkedIdentity,
    OAuthClient,
    OAuthCode,
    OAuthConsent,
    OAuthToken,
    OutboxMessage,
    Passkey,
    SecondFactor,
    SecurityEvent,
    Session,
    SigningKey,
    User,
)

__all__ = [
    "BackchannelLogoutRecord",
    "EventRecord",
    "IdentityRecord",
    "OAuthClientRecord",
    "OAuthCodeRecord",
    "OAuthConsentRecord",
    "OAuthTokenRecord",
    "OutboxRecord",
    "PasskeyRecord",
    "SecondFactorRecord",
    "SessionRecord",
    "SigningKeyRecord",
    "UserRecord",
    "record_type",
]

_TYPES = {StringField: str, DateTimeField: datetime, IntField: int, BooleanField: bool,
          ListField: tuple, ObjectIdField: object, DictField: dict}


def record_type(document: type[Document], name: str) -> type:
    """A frozen, slotted dataclass mirroring `document`, with `from_mongo`/`to_mongo`."""
    specs: list[Any] = []
    for field_name, field in document._fields.items():
        spec: tuple = (field_name, _TYPES[type(field)])
        if isinstance(field, ListField):  # frozen records hold tuples
            spec = (*spec, dataclasses.field(default=()))
        elif field.default is not None:
            spec = (*spec, dataclasses.field(default=field.default))
        elif not field.required and not field.primary_key:
            spec = (*spec, dataclasses.field(default=None))
        specs.append(spec)
    specs.sort(key=lambda spec: len(spec) == 3)  # fields with defaults last (stable)
    db_names = {f: document._fields[f].db_field for f in document._fields}

    def from_mongo(cls, doc: dict[str, Any]) -> Any:
        return cls(**{f: tuple(doc[db]) if isinstance(doc[db], list) else doc[db]
                      for f, db in db_names.items() if db in doc})

    def to_mongo(self) -> dict[str, Any]:
        return {db: getattr(self, f) for f, db in db_names.items()}

    cls = dataclasses.make_dataclass(
        name, specs, frozen=True, slots=True,
        namespace={"from_mongo": classmethod(from_mongo), "to_mongo": to_mongo},
    )
    cls.__module__ = __name__
    return cls


UserRecord = record_type(User, "UserRecord")
SessionRecord = record_type(Session, "SessionRecord")
SecondFactorRecord = record_type(SecondFactor, "SecondFactorRecord")
EventRecord = record_type(SecurityEvent, "EventRecord")
PasskeyRecord = record_type(Passkey, "PasskeyRecord")
OutboxRecord = record_type(OutboxMessage, "OutboxRecord")
IdentityRecord = record_type(LinkedIdentity, "IdentityRecord")
OAuthClientRecord = record_type(OAuthClient, "OAuthClientRecord")
OAuthCodeRecord = record_type(OAuthCode, "OAuthCodeRecord")
OAuthTokenRecord = record_type(OAuthToken, "OAuthTokenRecord")
OAuthConsentRecord = record_type(OAuthConsent, "OAuthConsentRecord")
SigningKeyRecord = record_type(SigningKey, "SigningKeyRecord")
BackchannelLogoutRecord = record_type(BackchannelLogout, "BackchannelLogoutRecord")
