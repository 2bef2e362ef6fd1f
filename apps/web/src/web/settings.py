"""Django settings, derived from the shared configuration (`auth_utils.load_settings`).

No SQL database: users and sessions live in MongoDB through the shared packages.
`django.contrib.auth` and `contenttypes` are installed only so that Django's own
`LoginRequiredMiddleware` and `login_not_required` can be imported (their module
imports the auth models); no model of theirs is ever queried, and with
`DATABASES = {}` any accidental query would fail loudly.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from auth_utils import load_settings
from auth_utils.config import require_secret

SHARED = load_settings()
BASE_DIR = Path(__file__).resolve().parent
PRODUCTION = SHARED.production

SECRET_KEY = require_secret("DJANGO_SECRET_KEY", production=PRODUCTION)
DEBUG = (not PRODUCTION) and os.environ.get("DJANGO_DEBUG", "").lower() in ("1", "true")

_web_host = urlsplit(SHARED.web_url).hostname or "localhost"
ALLOWED_HOSTS = [_web_host]
if SHARED.cookie_domain:
    ALLOWED_HOSTS.append(f".{SHARED.cookie_domain}")
if not PRODUCTION:
    ALLOWED_HOSTS += ["localhost", "127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "web.middleware.AuthGlueMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "web.middleware.SessionAuthMiddleware",
    "web.middleware.LoginRequired",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "web.sync_chain.SyncChain",  # keeps the chain in one thread under ASGI (see there)
]

ROOT_URLCONF = "web.urls"
WSGI_APPLICATION = "web.wsgi.application"
DATABASES: dict = {}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
                "web.context.urls",
            ],
        },
    }
]

LOGIN_URL = f"{SHARED.landing_url}/login"
LANDING_URL = SHARED.landing_url

# The theme's files (/static/..., /favicon.ico) are served by web.views.static_file as
# theme.assets decides, the same rule as on landing: content-hashed URLs cached for a year,
# gzip. Neither staticfiles nor WhiteNoise gives hashed names without a collectstatic step.

# Bodies over 64 KiB get a 413 from the glue (AuthGlueMiddleware); this is Django's own backstop.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 50

CSRF_TRUSTED_ORIGINS = sorted(SHARED.allowed_origins)
CSRF_COOKIE_NAME = "web_csrftoken"  # the apps share a host: keep the name our own
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = PRODUCTION
CSRF_FAILURE_VIEW = "web.errors.csrf_failure"
SESSION_COOKIE_SECURE = PRODUCTION  # unused (no contrib.sessions); set for check --deploy

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
    if SHARED.trusted_proxies:
        # Only behind a proxy we trust (TRUSTED_PROXIES) that sets this header itself.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # HSTS preload is a commitment for the whole domain; the operator decides it.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
USE_I18N = False

# The `auth.events` JSON lines: web.apps.WebConfig.ready() sends them to stderr unless a
# handler here (on `auth.events` or the root logger) already takes them.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django": {"handlers": ["console"], "level": "WARNING"},
        "web": {"handlers": ["console"], "level": "INFO"},
    },
}
