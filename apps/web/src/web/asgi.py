"""ASGI entry point: production runs `gunicorn -k asgi web.asgi:application`
(docs/deploy.md §4), so a slow or silent client holds a socket, never a worker."""

import os

from django.core.asgi import get_asgi_application

from auth_utils.http import MAX_BODY_BYTES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
django_application = get_asgi_application()

from web import services  # noqa: E402 - after Django is set up

services.get().prepare(retry_every=5.0)  # indexes once, at start-up
services.get().start_mail_sender()  # this process delivers the outbox too
services.get().start_logout_sender()  # and back-channel log-outs (auth_utils.services.backchannel)


async def application(scope: dict, receive, send) -> None:
    """Django's ASGI app, reading at most MAX_BODY_BYTES of a body. Django's handler
    spools the whole body (to disk past 2.5 MB) before any middleware runs, so without
    this an endless chunked upload would fill the disk. Past the limit it stops reading
    and hands Django what came with the size seen as Content-Length: the glue's one body
    rule (auth_utils.http.body_refusal) then answers 413."""
    if scope["type"] != "http":
        return await django_application(scope, receive, send)
    declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
    too_large = declared.isdigit() and int(declared) > MAX_BODY_BYTES
    received, ended = 0, False

    async def limited_receive() -> dict:
        nonlocal received, ended
        if ended:  # Django's body has ended: the rest of an upload is dropped unread
            while (message := await receive())["type"] == "http.request":
                pass
            return message  # http.disconnect
        if too_large:  # announced too large: none of it is read
            ended = True
            return {"type": "http.request", "body": b"", "more_body": False}
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                scope["headers"] = [(k, v) for k, v in scope["headers"]
                                    if k != b"content-length"] + [
                    (b"content-length", str(received).encode())]
                message = {"type": "http.request", "body": b"", "more_body": False}
            ended = not message.get("more_body", False)
        return message

    await django_application(scope, limited_receive, send)
