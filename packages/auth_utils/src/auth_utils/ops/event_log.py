"""Where the `auth.events` lines go: stderr, one JSON object per line, unless the operator
routes them somewhere else.

Both apps call `log_events_to_stderr()` once per process, after their server's logging
configuration has run (landing: the app factory; web: `WebConfig.ready()`, after Django's
`LOGGING`). Neither uvicorn nor gunicorn nor Django's `LOGGING` gives the root logger a
handler, so without this Python drops the INFO lines of `Activity.record`.
"""

from __future__ import annotations

import json
import logging
import sys
import threading

__all__ = ["EVENTS_LOGGER", "JsonLineFormatter", "log_events_to_stderr"]

EVENTS_LOGGER = "auth.events"
_lock = threading.Lock()


class JsonLineFormatter(logging.Formatter):
    """An event line (already a JSON object) as it is; anything else on the logger (a
    storage failure, with or without a traceback) as a JSON object too, so every line a
    log pipeline reads from this handler is one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if message.startswith("{") and not record.exc_info:
            return message  # Activity.record: json.dumps, so one line
        line = {"event": "log", "level": record.levelname.lower(), "logger": record.name,
                "message": message}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a line is written (as logging's own last
    resort does), never to a stream that was replaced or closed since."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr


def log_events_to_stderr() -> bool:
    """Make the `auth.events` lines reach stderr; True when a handler was installed.

    The logger is left as the operator set it up when a handler would already see its
    lines (one of its own, or one on an ancestor it propagates to, e.g. a root handler
    from a server's `--log-config`). Its level becomes INFO unless one was set, so an
    operator turns the lines off with an explicit level, never by omission."""
    logger = logging.getLogger(EVENTS_LOGGER)
    with _lock:
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
        if logger.hasHandlers():
            return False
        handler = _StderrHandler()
        handler.setFormatter(JsonLineFormatter())
        logger.addHandler(handler)
        return True
