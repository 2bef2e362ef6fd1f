"""The same web app behind Django's own contrib.auth + contrib.sessions on SQLite
(defaults, as a Django user would pick)."""

import os

from web.settings import *  # noqa: F403
from web.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.sessions"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ.get("BENCH_SQLITE", "bench.sqlite3")}}
MIDDLEWARE = [m for m in MIDDLEWARE if m != "web.middleware.SessionAuthMiddleware"]
_at = MIDDLEWARE.index("web.middleware.LoginRequired")
MIDDLEWARE[_at:_at] = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
SESSION_COOKIE_NAME = "sessionid"
