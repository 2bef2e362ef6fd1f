"""Reading the environment: `.env` files, numbers, switches, networks and secrets, each
refused with a message that names the variable and says what it must be."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from auth_utils.config.settings import DEV_SECRET_MARKER
from auth_utils.rules.errors import SettingsError


def _find_upwards(name: str, start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def load_dotenv_files(start: Path | None = None) -> dict[str, str]:
    """Values of `.env` overlaid by `.env.local`, found from `start` (cwd) upwards."""
    start = start or Path.cwd()
    values: dict[str, str] = {}
    for name in (".env", ".env.local"):
        path = _find_upwards(name, start)
        if path:
            values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    return values


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def env_switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "on", "yes"):
        return True
    if raw in ("0", "false", "off", "no"):
        return False
    raise SettingsError(f"{name} must be on or off, got {raw!r}")


def ipv6_prefix(env: Mapping[str, str]) -> int:
    value = env_int(env, "THROTTLE_IPV6_PREFIX", 64)
    if value > 128:
        raise SettingsError(f"THROTTLE_IPV6_PREFIX must be 1 to 128, got {value}")
    return value


def networks(raw: str, name: str = "TRUSTED_PROXIES"
              ) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for item in filter(None, (p.strip() for p in raw.split(","))):
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(f"{name}: {item!r} is not an address or network") from None
    return tuple(nets)


def environment(environ: Mapping[str, str] | None) -> dict[str, str]:
    return {**load_dotenv_files(), **os.environ} if environ is None else dict(environ)


def require_secret(name: str, *, production: bool,
                   environ: Mapping[str, str] | None = None) -> str:
    """A secret an app needs (e.g. DJANGO_SECRET_KEY); in production a missing or
    development value is refused, so a deployment never runs on the committed one."""
    value = environment(environ).get(name, "").strip()
    if production and (not value or DEV_SECRET_MARKER in value):
        raise SettingsError(
            f"APP_ENV=production needs {name} set to a long random value "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    return value or f"{DEV_SECRET_MARKER}-only-for-local-development"


# MFA_ENCRYPTION_KEY in production: 256 bits, written as text. 43 characters is 32 random
# bytes in url-safe base64 (`secrets.token_urlsafe(32)`); hex needs 64, `openssl rand
# -base64 32` gives 44. A key the generators make has dozens of distinct characters (64
# hex digits show fewer than 10 of the 16 with probability ~1e-9) and never repeats a
# shorter string; 'x' * 64 or 'abcd' * 16 fail both. A length and variety check cannot
# prove randomness: it refuses the keys that are plainly not random.
MFA_KEY_MIN_CHARS = 43
MFA_KEY_MIN_DISTINCT = 10
MFA_KEY_HOWTO = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def mfa_key(env: Mapping[str, str], production: bool) -> str:
    key = require_secret("MFA_ENCRYPTION_KEY", production=production, environ=env)
    if not production:
        return key
    periodic = key in (key + key)[1:-1]  # a shorter string repeated ('ab' * 30)
    if len(key) < MFA_KEY_MIN_CHARS or len(set(key)) < MFA_KEY_MIN_DISTINCT or periodic:
        raise SettingsError(
            "APP_ENV=production needs MFA_ENCRYPTION_KEY to be a random key of at least "
            f"256 bits ({MFA_KEY_MIN_CHARS}+ url-safe base64 or 64 hex characters, with no "
            f"pattern); this one is too short or too regular. Make one: {MFA_KEY_HOWTO} "
            "(docs/deploy.md §2; changing the key of a running deployment: the rotation "
            "steps there)")
    return key

