"""ASGI entry point (`uvicorn web.asgi:application`)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
application = get_asgi_application()

from web import services  # noqa: E402 - after Django is set up

services.get().prepare(retry_every=5.0)  # indexes once, at start-up
