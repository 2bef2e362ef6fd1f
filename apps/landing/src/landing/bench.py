"""The landing app as the benchmark drives it: one extra tiny endpoint, so a ratio
compares like with like (the baseline is the same request without a cookie: the backend
returns at once, no database). `python -m landing.bench` prints {"landing": [reads,
writes]} per authenticated request (needs BENCH_TOKEN)."""

from __future__ import annotations

import json
import os
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from landing.app import create_app


async def whoami(request: Request) -> PlainTextResponse:
    user = request.user
    return PlainTextResponse(user.display_name if user.is_authenticated else "anonymous")


def create_bench_app() -> Starlette:
    app = create_app()
    app.router.routes.insert(0, Route("/bench/whoami", whoami))
    return app


def main() -> int:
    from pymongo import monitoring

    from db_utils.monitoring import CommandCounter, round_trips_per_call

    counter = CommandCounter()
    monitoring.register(counter)  # before any client exists
    from starlette.testclient import TestClient

    cookie = f"auth_session={os.environ['BENCH_TOKEN']}"
    requests = int(os.environ.get("BENCH_REQUESTS", "200"))
    with TestClient(create_bench_app(), base_url="http://localhost") as client:

        def call() -> None:
            assert client.get("/bench/whoami", headers={"Cookie": cookie}).status_code == 200

        print(json.dumps({"landing": round_trips_per_call(counter, call, requests)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
