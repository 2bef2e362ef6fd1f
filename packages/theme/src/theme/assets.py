"""The theme's files as both apps serve them, decided once here (the apps only adapt):
each file under a content-hashed name cached for a year (`url("style.css")` is
`/static/style.<hash>.css`), text files gzip-compressed, the favicon and robots.txt.

Only these public, constant files are compressed. HTML responses stay uncompressed on
purpose: they carry CSRF tokens and user data, and compressing secrets next to text an
attacker can inject lets the compressed size leak them (BREACH).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache

from theme import STATIC_DIR

__all__ = ["FAVICON", "Asset", "StaticAnswer", "answer", "find", "robots_txt", "url", "urls"]

IMMUTABLE = "public, max-age=31536000, immutable"
# The plain name (`/static/style.css`, `/favicon.ico`) may change with the next release:
# a day, then revalidate by ETag.
SHORT = "public, max-age=86400"
COMPRESSIBLE = ("text/", "application/javascript", "image/svg+xml")
FAVICON = "favicon.svg"
PREFIX = "/static/"


@dataclass(frozen=True)
class Asset:
    """One file of the theme, read once: its bytes, gzip bytes and names."""

    name: str
    hashed_name: str
    content_type: str
    body: bytes
    gzipped: bytes | None
    etag: str


@dataclass(frozen=True)
class StaticAnswer:
    """What to send for a static request: the app copies it onto its own response."""

    status: int
    headers: dict[str, str]
    body: bytes


def _load(name: str) -> Asset:
    body = (STATIC_DIR / name).read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:12]
    stem, dot, ext = name.rpartition(".")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "application/javascript":
        content_type += "; charset=utf-8"
    zipped = None
    if content_type.startswith(COMPRESSIBLE):
        # mtime=0: the same bytes on every start and machine (stable ETag and size).
        zipped = gzip.compress(body, compresslevel=9, mtime=0)
        zipped = zipped if len(zipped) < len(body) else None
    return Asset(name, f"{stem}.{digest}{dot}{ext}" if dot else f"{name}.{digest}",
                 content_type, body, zipped, f'"{digest}"')


@cache
def _assets() -> dict[str, tuple[Asset, bool]]:
    """Every file by the name it is requested under: (asset, under its hashed name)."""
    found: dict[str, tuple[Asset, bool]] = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            asset = _load(path.name)
            found[asset.name] = (asset, False)
            found[asset.hashed_name] = (asset, True)
    return found


def url(name: str) -> str:
    """The URL of a theme file under its content hash: cacheable for ever, since a new
    version gets a new URL."""
    return PREFIX + _assets()[name][0].hashed_name


@cache
def urls() -> dict[str, str]:
    """Every file's hashed URL for templates, keyed `style_css`, `passkeys_js`, ..."""
    return {name.replace(".", "_").replace("-", "_"): url(name)
            for name, (_, hashed) in _assets().items() if not hashed}


def find(path: str) -> tuple[Asset, bool] | None:
    """The asset a request path asks for (`/static/...` or `/favicon.ico`), and whether
    it was asked for by its hashed name."""
    if path == "/favicon.ico":
        return _assets()[FAVICON][0], False
    if not path.startswith(PREFIX):
        return None
    return _assets().get(path[len(PREFIX):])


def answer(path: str, method: str = "GET", accept_encoding: str | None = None,
           if_none_match: str | None = None) -> StaticAnswer | None:
    """The response to a GET or HEAD of a theme file, or None when there is no such file
    (the app answers its own 404)."""
    found = find(path)
    if found is None:
        return None
    asset, hashed = found
    headers = {"cache-control": IMMUTABLE if hashed else SHORT, "etag": asset.etag,
               "content-type": asset.content_type}
    if asset.gzipped is not None:
        headers["vary"] = "Accept-Encoding"
    if if_none_match and asset.etag in (t.strip().removeprefix("W/")
                                        for t in if_none_match.split(",")):
        return StaticAnswer(304, headers, b"")
    body = asset.body
    if asset.gzipped is not None and _accepts_gzip(accept_encoding):
        body, headers["content-encoding"] = asset.gzipped, "gzip"
    headers["content-length"] = str(len(body))
    return StaticAnswer(200, headers, b"" if method.upper() == "HEAD" else body)


def _accepts_gzip(accept_encoding: str | None) -> bool:
    for part in (accept_encoding or "").lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def robots_txt(private: bool) -> str:
    """robots.txt: the public site may be indexed; a private app asks for nothing."""
    return "User-agent: *\n" + ("Disallow: /\n" if private else "Allow: /\n")
