"""The web app with no authentication: a fixed user, no cookie read, no database."""

from web.settings import *  # noqa: F403
from web.settings import MIDDLEWARE

MIDDLEWARE = [
    "web.bench.fixed_user.FixedUserMiddleware" if m == "web.middleware.SessionAuthMiddleware"
    else m
    for m in MIDDLEWARE
    if m != "web.middleware.LoginRequired"
]
