"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest

from theme import assets


def urls(request: HttpRequest) -> dict:
    return {"landing_url": settings.LANDING_URL, "asset": assets.urls()}
