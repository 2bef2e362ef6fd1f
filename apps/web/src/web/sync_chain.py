"""How Django runs its middleware under the ASGI worker, kept apart from the auth glue."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

__all__ = ["SyncChain"]


class SyncChain:
    """Last in MIDDLEWARE, sync only: under ASGI (gunicorn's ASGI worker) Django then runs
    the whole middleware chain in one thread instead of hopping between the event loop
    and a thread for every async-capable middleware's hooks (each hop costs: GET / with a
    session went from 0.47x to 0.63x of the sync worker's throughput, docs/deploy.md)."""

    sync_capable, async_capable = True, False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
