"""What an e-mail address must be to be accepted, and the key that makes it one account's.

Syntax only, by `email-validator` (internationalised domains and local parts included);
no DNS lookup at request time: it would put an outside server's latency (and a way to
probe it) on the request path, and the verification mail proves the address anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

__all__ = ["ADDRESS_MAX", "Address", "parse_address"]

ADDRESS_MAX = 254  # RFC 5321's limit on a forward path


@dataclass(frozen=True)
class Address:
    """`address` as it is shown and mailed to (normalised: the domain in lower case and
    Unicode NFC); `key` the form two accounts may not share once verified (lower case:
    no provider treats `Bob@` and `bob@` as two people, and an attacker must not be able
    to verify a case variant of someone's address on a second account)."""

    address: str
    key: str


def parse_address(raw: str) -> Address | str:
    """The address, or a message saying what is wrong with it."""
    raw = raw.strip()
    if not raw:
        return "Enter an email address."
    if len(raw) > ADDRESS_MAX:
        return f"An email address has at most {ADDRESS_MAX} characters."
    try:
        valid = validate_email(raw, check_deliverability=False, allow_quoted_local=False,
                               allow_domain_literal=False)
    except EmailNotValidError as exc:
        return f"That is not a valid email address: {exc}"
    return Address(valid.normalized, valid.normalized.lower())
