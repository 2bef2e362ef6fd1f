"""The MongoDB collections, declared once with their indexes: the schema's one source.

Hot paths read and write the collections directly (plain pymongo) to skip mongoengine's
per-document overhead, but every insert is validated by these declarations first
(`validated`), and the record types in `records.py` are generated from them.
"""

from __future__ import annotations

from typing import Any

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    StringField,
)

__all__ = [
    "ALL_DOCUMENTS",
    "BackchannelLogout",
    "LinkedIdentity",
    "OAuthClient",
    "OAuthCode",
    "OAuthConsent",
    "OAuthToken",
    "OidcFlow",
    "OutboxMessage",
    "Passkey",
    "RetiredUsername",
    "SecondFactor",
    "SecurityEvent",
    "Session",
    "SigningKey",
    "Throttle",
    "User",
    "WebAuthnChallenge",
    "validated",
]


class User(Document):
    id = StringField(primary_key=True)
    # Already normalized by auth_utils; the unique index decides who gets a name.
    username = StringField(required=True, unique=True, max_length=31)
    password_hash = StringField(required=True, max_length=512)
    created_at = DateTimeField(required=True)
    # Notices (failed log-ins, changes to the account) up to this time have been shown to
    # the user in the web app.
    failures_seen_at = DateTimeField()
    # Disabled by an operator (`auth-admin disable`): no log-in; the reason is for them.
    disabled_at = DateTimeField()
    disabled_reason = StringField(max_length=200)
    # The account's deletion has begun: log-ins are refused as for a name nobody has, and
    # running the deletion again finishes it (auth_utils.flows.lifecycle).
    deleting_at = DateTimeField()
    # The verified e-mail address (as the user typed it, normalised) and its key (lower
    # case): set together, only once verified; the unique index on the key gives a
    # verified address to one account. An address waiting for verification is only in
    # `pending_email`, which blocks nobody.
    email = StringField(max_length=320)
    email_key = StringField(max_length=320)
    email_verified_at = DateTimeField()
    pending_email = StringField(max_length=320)
    # SHA-256 hex of the single-use tokens mailed out (the tokens themselves are only in
    # the mail): one of each kind at a time, so issuing one voids the one before.
    email_token = StringField(max_length=64)
    email_token_expires_at = DateTimeField()
    reset_token = StringField(max_length=64)  # removed when the password changes
    reset_token_expires_at = DateTimeField()
    # Keyed hashes of the browsers ("Firefox on Linux") that logged in to this account,
    # newest last: a log-in from one not in the list is a "new browser" notice.
    known_browsers = ListField(StringField(max_length=64), default=list)
    # Made from an outside identity: `password_hash` is of a random secret nobody knows,
    # so the account has no password until one is set (which removes this). Unlinking
    # the last identity of such an account is refused (it would lock the owner out).
    password_unknown = BooleanField()

    meta = {"collection": "users", "auto_create_index": False,
            "indexes": [{"fields": ["deleting_at"], "sparse": True},
                        {"fields": ["email_key"], "unique": True, "sparse": True},
                        {"fields": ["email_token"], "sparse": True},
                        {"fields": ["reset_token"], "sparse": True}]}


class RetiredUsername(Document):
    """The name of a deleted account, held until `expires_at` so that a new account cannot
    take it at once (and be mistaken for the old one). Only a one-way hash of the name."""

    id = StringField(primary_key=True)  # SHA-256 hex of "retired-username:<name>"
    expires_at = DateTimeField(required=True)

    meta = {
        "collection": "retired_usernames",
        "auto_create_index": False,
        "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}],
    }


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
    # Password right, second factor not yet given: both apps treat it as logged out.
    pending = BooleanField(default=False)
    # REQUIRE_SECOND_FACTOR and none yet: logged in, but only to enrol one.
    must_enrol = BooleanField(default=False)
    # When the password (and second factor) were last entered in this session: the
    # sensitive changes need it within the last 10 minutes ("sudo mode").
    verified_at = DateTimeField()

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


class SecondFactor(Document):
    """A user's authenticator-app secret and recovery codes (one document per user)."""

    id = StringField(primary_key=True)  # the user's id
    # AES-GCM sealed (MFA_ENCRYPTION_KEY), bound to the user id: a dump alone is useless.
    secret = StringField(required=True, max_length=512)
    created_at = DateTimeField(required=True)
    enabled = BooleanField(required=True, default=False)  # False while enrolling
    # The last accepted time step: a code is never accepted twice (compare-and-set).
    last_step = IntField(required=True, default=0)
    # Keyed hashes (HMAC-SHA-256) of the unused recovery codes.
    recovery = ListField(StringField(max_length=128), default=list)
    # Browsers trusted to skip the code ({id: SHA-256 of the cookie's token, created_at,
    # expires_at, browser, ip}); they go with this document when the factor changes.
    trusted = ListField(DictField(), default=list)

    meta = {"collection": "second_factors", "auto_create_index": False}


class SecurityEvent(Document):
    """One authentication event: what the user's activity page, `auth-admin events` and
    the log pipeline read. Never a token, password, secret, code or full session id."""

    at = DateTimeField(required=True)
    expires_at = DateTimeField(required=True)  # at + SECURITY_EVENTS_RETENTION_DAYS
    kind = StringField(required=True, max_length=40)
    outcome = StringField(required=True, max_length=10)  # success / failure
    user_id = StringField()  # none for an attempt on a name nobody has
    username = StringField(max_length=31)
    ip = StringField(default="", max_length=64)
    browser = StringField(default="", max_length=80)
    session_ref = StringField(default="", max_length=16)  # not reversible to the session
    detail = StringField(default="", max_length=200)

    meta = {
        "collection": "security_events",
        "auto_create_index": False,
        "indexes": [
            ("user_id", "-at"),
            "-at",
            {"fields": ["expires_at"], "expireAfterSeconds": 0},
        ],
    }


class Passkey(Document):
    """A WebAuthn credential. Its id (base64url) is the primary key: unique across users."""

    id = StringField(primary_key=True, max_length=1400)
    user_id = StringField(required=True)
    public_key = StringField(required=True, max_length=4096)  # COSE key, base64url
    name = StringField(required=True, max_length=60)
    created_at = DateTimeField(required=True)
    sign_count = IntField(required=True, default=0)
    last_used_at = DateTimeField()

    meta = {"collection": "passkeys", "auto_create_index": False, "indexes": ["user_id"]}


class WebAuthnChallenge(Document):
    """A challenge handed to a browser: single use, five minutes."""

    id = StringField(primary_key=True)  # the challenge itself, base64url
    purpose = StringField(required=True)  # register / login
    user_id = StringField(default="")
    expires_at = DateTimeField(required=True)

    meta = {
        "collection": "webauthn_challenges",
        "auto_create_index": False,
        "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}],
    }


class OutboxMessage(Document):
    """One e-mail to send (the outbox): stored when the event that causes it happens, then
    claimed by a sender under a lease, delivered over SMTP with retries. Once delivered (or
    given up) the sealed body goes and the metadata stays for `expires_at` (TTL), for audit.
    """

    id = StringField(primary_key=True, max_length=64)  # random; binds the sealed body
    # Set once at enqueue: a retry or a second sender sends the very same Message-ID, so a
    # duplicate (the one a crash can cause) is recognisable as such by MTAs and clients.
    message_id = StringField(required=True, unique=True, max_length=255)
    to = StringField(required=True, max_length=320)
    subject = StringField(required=True, max_length=998)  # never a secret (stays stored)
    # AES-GCM sealed (text and HTML, MAIL key derived from MFA_ENCRYPTION_KEY, bound to the
    # id); removed once delivered or failed, so a copy of the database holds no usable link.
    body = StringField(max_length=1_000_000)
    kind = StringField(default="", max_length=40)  # what caused it, e.g. "password_reset"
    user_id = StringField()  # whose, when it is about an account
    status = StringField(required=True, default="pending",
                         choices=("pending", "delivered", "failed"))
    created_at = DateTimeField(required=True)  # also the message's Date header
    # When a sender may next claim it: the next attempt after a failure (backoff), or,
    # while a sender holds it, the end of that sender's lease.
    next_attempt_at = DateTimeField(required=True)
    attempts = IntField(required=True, default=0)  # claims so far (a claim is an attempt)
    lease = StringField(default="", max_length=64)  # the current claim's token
    leased_by = StringField(default="", max_length=200)  # host:pid:thread of that claim
    last_error = StringField(default="", max_length=300)
    delivered_at = DateTimeField()
    expires_at = DateTimeField()  # TTL: set once delivered or failed, never while pending

    meta = {
        "collection": "outbox",
        "auto_create_index": False,
        "indexes": [
            # The senders' one query: pending messages whose time has come, oldest first.
            ("status", "next_attempt_at"),
            {"fields": ["expires_at"], "expireAfterSeconds": 0},
        ],
    }


class LinkedIdentity(Document):
    """An outside OpenID Connect identity linked to one account. The identity is the
    issuer and the subject (`sub`) together, never an e-mail address; the unique index
    gives each identity to one account only (two racing links: one wins)."""

    id = StringField(primary_key=True, max_length=64)  # random
    issuer = StringField(required=True, max_length=512)
    subject = StringField(required=True, max_length=255)
    provider = StringField(required=True, max_length=32)  # the OIDC_PROVIDERS id
    user_id = StringField(required=True)
    # The address the provider gave, to recognise the identity on the security page only:
    # never used to find or link an account.
    email = StringField(default="", max_length=320)
    created_at = DateTimeField(required=True)
    last_used_at = DateTimeField()

    meta = {"collection": "linked_identities", "auto_create_index": False,
            "indexes": [{"fields": ["issuer", "subject"], "unique": True}, "user_id"]}


class OidcFlow(Document):
    """A log-in with an outside provider under way ("authorize": state, nonce, PKCE
    verifier, intent), or a new outside identity waiting for its username ("signup"):
    server-side, single use (taken by an atomic delete), ten minutes (TTL)."""

    id = StringField(primary_key=True, min_length=64, max_length=64)  # SHA-256 of the key
    purpose = StringField(required=True, choices=("authorize", "signup"))
    data = DictField()
    expires_at = DateTimeField(required=True)

    meta = {"collection": "oidc_flows", "auto_create_index": False,
            "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}]}


class OAuthClient(Document):
    """A relying party of our OpenID Connect provider (`auth-admin clients add`). A
    confidential client's secret is shown once and only its SHA-256 is kept: the secret is
    256 random bits, so a fast hash is as strong as a slow one and costs no CPU per call."""

    id = StringField(primary_key=True, max_length=64)  # the client_id (random)
    name = StringField(required=True, max_length=80)
    secret_hash = StringField(default="", max_length=64)  # "" for a public client
    redirect_uris = ListField(StringField(max_length=2000), default=list)  # exact match
    post_logout_redirect_uris = ListField(StringField(max_length=2000), default=list)
    backchannel_logout_uri = StringField(default="", max_length=2000)
    public = BooleanField(required=True, default=False)  # no secret: PKCE alone
    first_party = BooleanField(required=True, default=False)  # no consent page
    created_at = DateTimeField(required=True)

    meta = {"collection": "oauth_clients", "auto_create_index": False}


class OAuthCode(Document):
    """An authorization code: stored under its SHA-256, single use (`used_at` set by an
    atomic update), ten minutes at most (TTL). Kept once used until it expires, so a
    replay is recognised and the tokens it issued are revoked (RFC 6749 4.1.2)."""

    id = StringField(primary_key=True, min_length=64, max_length=64)
    client_id = StringField(required=True, max_length=64)
    user_id = StringField(required=True)
    session_id = StringField(required=True, max_length=64)  # the browser session it came from
    redirect_uri = StringField(required=True, max_length=2000)
    scope = StringField(default="", max_length=500)
    nonce = StringField(default="", max_length=512)
    code_challenge = StringField(required=True, max_length=128)
    code_challenge_method = StringField(required=True, max_length=8)
    auth_time = IntField(required=True)  # when the user last entered the password
    expires_at = DateTimeField(required=True)
    used_at = DateTimeField()

    meta = {"collection": "oauth_codes", "auto_create_index": False,
            "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}]}


class OAuthToken(Document):
    """An access or refresh token we issued, stored under its SHA-256 (the token itself
    only ever goes to the client). `family`: every token descending from one code; a
    reused refresh token or a replayed code revokes the whole family."""

    id = StringField(primary_key=True, min_length=64, max_length=64)
    kind = StringField(required=True, choices=("access", "refresh"))
    family = StringField(required=True, max_length=64)
    client_id = StringField(required=True, max_length=64)
    user_id = StringField(required=True)
    session_id = StringField(required=True, max_length=64)
    scope = StringField(default="", max_length=500)
    auth_time = IntField(required=True)
    created_at = DateTimeField(required=True)
    expires_at = DateTimeField(required=True)
    used_at = DateTimeField()  # a refresh token once rotated: using it again is reuse
    revoked_at = DateTimeField()

    meta = {"collection": "oauth_tokens", "auto_create_index": False,
            "indexes": ["family", ("session_id", "client_id"), "user_id",
                        {"fields": ["expires_at"], "expireAfterSeconds": 0}]}


class OAuthConsent(Document):
    """A user allowed a (not first-party) client these scopes: not asked again."""

    id = StringField(primary_key=True, max_length=200)  # "<user id>:<client id>"
    user_id = StringField(required=True)
    client_id = StringField(required=True, max_length=64)
    scope = StringField(default="", max_length=500)
    created_at = DateTimeField(required=True)

    meta = {"collection": "oauth_consents", "auto_create_index": False,
            "indexes": ["user_id"]}


class SigningKey(Document):
    """A key the provider signs ID tokens with. The private JWK is AES-GCM sealed (a key
    derived from MFA_ENCRYPTION_KEY, bound to the kid); `state`: "next" (published, not
    yet signing), "current" (signs), "retired" (still published until `expires_at`)."""

    id = StringField(primary_key=True, max_length=64)  # the kid
    alg = StringField(required=True, max_length=8)
    sealed = StringField(required=True, max_length=8192)
    public = DictField(required=True)  # the public JWK, published in the JWKS
    state = StringField(required=True, choices=("next", "current", "retired"))
    created_at = DateTimeField(required=True)
    expires_at = DateTimeField()  # TTL, set when retired

    meta = {"collection": "signing_keys", "auto_create_index": False,
            "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}]}


class BackchannelLogout(Document):
    """One client to tell, by OpenID Connect Back-Channel Logout, that one browser session
    ended: written "armed" when the client first gets tokens for the session, made
    "pending" once the session is gone, then delivered (or failed) under a lease like the
    mail outbox. The id is the pair's hash: one record, so one Logout Token, per pair."""

    id = StringField(primary_key=True, min_length=64, max_length=64)
    session_id = StringField(required=True, max_length=64)
    client_id = StringField(required=True, max_length=64)
    user_id = StringField(required=True)  # the Logout Token's `sub`
    sid = StringField(required=True, max_length=64)  # the ID token's `sid`
    # The provider that issued the client's tokens, so the Logout Token's `iss`: only a
    # sender of that issuer claims the record ("" in records from before: any sender).
    issuer = StringField(default="", max_length=2048)
    status = StringField(required=True, default="armed",
                         choices=("armed", "pending", "delivered", "failed"))
    created_at = DateTimeField(required=True)
    ended_at = DateTimeField()  # when the session was found gone
    # While pending: when a sender may next claim it (backoff, or the lease's end).
    next_attempt_at = DateTimeField()
    attempts = IntField(required=True, default=0)
    lease = StringField(default="", max_length=64)
    leased_by = StringField(default="", max_length=200)
    last_error = StringField(default="", max_length=300)
    delivered_at = DateTimeField()
    expires_at = DateTimeField()  # TTL: set once delivered or failed

    meta = {"collection": "oauth_logouts", "auto_create_index": False,
            "indexes": [("status", "next_attempt_at"), ("status", "user_id"),
                        ("status", "session_id"),
                        {"fields": ["expires_at"], "expireAfterSeconds": 0}]}


ALL_DOCUMENTS: tuple[type[Document], ...] = (
    User, Session, Throttle, SecondFactor, SecurityEvent, Passkey, WebAuthnChallenge,
    OutboxMessage,
    RetiredUsername, LinkedIdentity, OidcFlow,
    OAuthClient, OAuthCode, OAuthToken, OAuthConsent, SigningKey, BackchannelLogout)


def validated(document: type[Document], record: Any) -> dict[str, Any]:
    """`record` (a value with the document's fields) as stored, once the document's own
    rules (required, lengths) accepted it; raises mongoengine's ValidationError."""
    instance = document(**{name: getattr(record, name) for name in document._fields})
    instance.validate()
    return instance.to_mongo().to_dict()
