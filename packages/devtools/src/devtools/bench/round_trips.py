"""Count database commands per authenticated request with pymongo's command monitoring.

Run as a process of its own (`python -m devtools.bench.round_trips`) so the listener is
registered before any client exists; drives both apps in-process through the same code
paths a server runs, and prints JSON: {app: [reads per request, writes per request]}.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter

from pymongo import monitoring

READS = ("find", "aggregate", "getMore")
WRITES = ("insert", "update", "delete", "findAndModify")


class CommandCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.counts[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def main() -> int:
    counter = CommandCounter()
    monitoring.register(counter)
    os.environ["DJANGO_SETTINGS_MODULE"] = "web.settings"
    import django

    django.setup()
    from django.test import Client
    from starlette.testclient import TestClient

    from auth_utils import load_settings
    from devtools.bench.apps import landing_app

    settings = load_settings()
    requests = int(os.environ.get("BENCH_REQUESTS", "200"))
    cookie = f"auth_session={os.environ['BENCH_TOKEN']}"
    out = {}
    with TestClient(landing_app(), base_url=settings.landing_url) as landing:
        web = Client(HTTP_HOST=settings.web_url.split("//", 1)[1])
        calls = {
            "landing": lambda: landing.get("/bench/whoami", headers={"Cookie": cookie}),
            "web": lambda: web.get("/", HTTP_COOKIE=cookie),
        }
        for call in calls.values():  # warm up: indexes, change streams, caches
            call()
        time.sleep(0.3)
        for name, call in calls.items():
            counter.counts.clear()
            for _ in range(requests):
                assert call().status_code == 200
            # The change stream's own getMores are the watcher's, not a request's.
            counter.counts["getMore"] = 0
            out[name] = [sum(counter.counts[c] for c in READS) / requests,
                         sum(counter.counts[c] for c in WRITES) / requests]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
