"""WSGI entry point (production: `gunicorn web.wsgi`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
application = get_wsgi_application()

from web import services  # noqa: E402 - after Django is set up

services.get().prepare(retry_every=5.0)  # indexes once, at start-up
services.get().start_mail_sender()  # this process delivers the outbox too
services.get().start_logout_sender()  # and back-channel log-outs (auth_utils.services.backchannel)
