"""The theme's files: hashed URLs cached for a year, gzip when asked for, 304 by ETag."""

import gzip

from theme import STATIC_DIR
from theme.assets import IMMUTABLE, answer, robots_txt, url


def test_hashed_url_is_immutable_and_compressed():
    link = url("style.css")
    assert link.startswith("/static/style.") and link.endswith(".css") and link != \
        "/static/style.css"
    got = answer(link, "GET", "br, gzip;q=0.8")
    assert got.status == 200
    assert got.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert got.headers["content-encoding"] == "gzip" and got.headers["vary"] == \
        "Accept-Encoding"
    assert gzip.decompress(got.body) == (STATIC_DIR / "style.css").read_bytes()
    assert int(got.headers["content-length"]) == len(got.body)


def test_the_hash_follows_the_content():
    import hashlib

    digest = hashlib.sha256((STATIC_DIR / "style.css").read_bytes()).hexdigest()[:12]
    assert url("style.css") == f"/static/style.{digest}.css"


def test_plain_name_short_cache_identity_head_and_304():
    got = answer("/static/style.css", "GET", None)
    assert got.headers["cache-control"] == "public, max-age=86400"
    assert "content-encoding" not in got.headers
    assert got.body == (STATIC_DIR / "style.css").read_bytes()
    assert answer("/static/style.css", "GET", "gzip;q=0").headers.get(
        "content-encoding") is None
    head = answer("/static/style.css", "HEAD", "gzip")
    assert head.body == b"" and int(head.headers["content-length"]) > 0
    again = answer("/static/style.css", "GET", "gzip", got.headers["etag"])
    assert again.status == 304 and again.body == b""


def test_favicon_and_unknown_paths():
    icon = answer("/favicon.ico")
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.body.startswith(b"<svg")
    assert answer("/static/nope.css") is None
    assert answer("/static/../pyproject.toml") is None
    assert answer("/elsewhere") is None


def test_robots():
    assert robots_txt(private=True) == "User-agent: *\nDisallow: /\n"
    assert "Allow: /" in robots_txt(private=False)
