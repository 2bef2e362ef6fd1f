"""The Logout Token checks of Back-Channel Logout 1.0, 2.6, each tried as an attacker
would: every token below but the first is refused. Keys are made with joserfc."""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey

from partner.app import Login, Sessions
from partner.logout_token import (
    EVENT,
    InvalidKeyIdError,
    LogoutTokenError,
    validate_logout_token,
)

ISSUER = "http://localhost:4321"
CLIENT = "0123456789abcdef0123456789abcdef"
PROVIDER_KEY = ECKey.generate_key("P-256", parameters={"kid": "k1"})
PUBLISHED = KeySet([ECKey.import_key(PROVIDER_KEY.as_dict(private=False))])


def claims(**changes) -> dict:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": CLIENT, "iat": now, "exp": now + 120, "jti": "j-1",
            "sub": "user-1", "sid": "sid-1", "events": {EVENT: {}}}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def sign(payload: dict, key=PROVIDER_KEY, **header) -> str:
    header = {"alg": "ES256", "kid": "k1", "typ": "logout+jwt", **header}
    return jwt.encode(header, payload, key, algorithms=[header["alg"]])


def check(token: str) -> dict:
    return validate_logout_token(token, PUBLISHED, issuer=ISSUER, client_id=CLIENT,
                                 algorithms=["ES256"])


def test_a_good_token_is_accepted():
    assert check(sign(claims()))["sid"] == "sid-1"
    assert check(sign(claims(sid=None)))["sub"] == "user-1"  # sub alone is enough
    assert check(sign(claims(sub=None)))["sid"] == "sid-1"  # and so is sid


def unsigned(payload: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'kid': 'k1', 'typ': 'logout+jwt'})}.{part(payload)}."


FORGED = {
    "signed by another key under the provider's kid": lambda: sign(
        claims(), ECKey.generate_key("P-256", parameters={"kid": "k1"})),
    "unsigned (alg none)": lambda: unsigned(claims()),
    "HMAC (alg HS256)": lambda: sign(claims(), OctKey.generate_key(256), alg="HS256"),
    "expired": lambda: sign(claims(iat=int(time.time()) - 600, exp=int(time.time()) - 300)),
    "issued in the future": lambda: sign(claims(iat=int(time.time()) + 3600)),
    "for another client": lambda: sign(claims(aud="another-client")),
    "from another issuer": lambda: sign(claims(iss="https://evil.test")),
    "with a nonce (an ID token's shape)": lambda: sign(claims(nonce="n-1")),
    "without the event": lambda: sign(claims(events={})),
    "with the event not an object": lambda: sign(claims(events={EVENT: "yes"})),
    "without events": lambda: sign(claims(events=None)),
    "without sid and sub": lambda: sign(claims(sid=None, sub=None)),
    "without jti": lambda: sign(claims(jti=None)),
    "without iat": lambda: sign(claims(iat=None)),
    "without exp": lambda: sign(claims(exp=None)),
    "typed as a plain JWT": lambda: sign(claims(), typ="JWT"),
    "not a JWT at all": lambda: "not.a.jwt",
    "empty": lambda: "",
}


@pytest.mark.parametrize("what", FORGED)
def test_a_bad_token_is_refused(what):
    with pytest.raises(LogoutTokenError):
        check(FORGED[what]())


def test_an_unknown_key_asks_for_the_keys_again():
    """A kid we do not have: the app fetches the JWKS again (once a minute at most)."""
    rotated = ECKey.generate_key("P-256", parameters={"kid": "k2"})
    with pytest.raises(InvalidKeyIdError):
        check(sign(claims(), rotated, kid="k2"))


def test_sessions_end_by_sid_or_sub_and_a_replayed_jti_does_nothing():
    sessions = Sessions()
    a = sessions.start(Login("user-1", "sid-1", "alice", "t"))
    b = sessions.start(Login("user-1", "sid-2", "alice", "t"))
    c = sessions.start(Login("user-2", "sid-3", "bob", "t"))
    assert sessions.end_for(sid="sid-1", sub="user-1") == 1
    assert set(sessions.by_id) == {b, c} and a not in sessions.by_id
    assert sessions.end_for(sid="sid-3", sub="user-1") == 0  # sid of another user: nothing
    assert sessions.end_for(sid=None, sub="user-1") == 1  # sub alone: all of that user's
    assert set(sessions.by_id) == {c}
    exp = time.time() + 120
    assert sessions.first_use_of("j-1", exp) is True
    assert sessions.first_use_of("j-1", exp) is False  # a replay: acted on already
    assert sessions.first_use_of("j-2", exp) is True
