"""The web page as bare Django serves it: Django's own middleware only, none of ours (the
bench's fixed user aside, which the page's template needs), so the bench shows what our
glue costs beside what Django itself does (issue 28)."""

from web.settings import *  # noqa: F403

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "web.bench.fixed_user.FixedUserMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
