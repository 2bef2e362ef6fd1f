"""Database commands per authenticated request of the web app, in-process (the listener
is registered before any client exists). Needs BENCH_TOKEN (a session token)."""

from __future__ import annotations

import json
import os
import sys

from pymongo import monitoring

from db_utils.monitoring import CommandCounter, round_trips_per_call


def main() -> int:
    counter = CommandCounter()
    monitoring.register(counter)
    os.environ["DJANGO_SETTINGS_MODULE"] = "web.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST=settings.SHARED.web_url.split("//", 1)[1])
    cookie = f"auth_session={os.environ['BENCH_TOKEN']}"

    def call() -> None:
        assert client.get("/", HTTP_COOKIE=cookie).status_code == 200

    requests = int(os.environ.get("BENCH_REQUESTS", "200"))
    print(json.dumps({"web": round_trips_per_call(counter, call, requests)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
