"""The process's auth core, built once (tests may replace it with `configure`)."""

from __future__ import annotations

import threading

from django.conf import settings

from auth_utils import AuthCore, build_core

__all__ = ["configure", "get"]

_lock = threading.Lock()
_core: AuthCore | None = None


def configure(core: AuthCore | None = None) -> AuthCore:
    """(Re)build the core, e.g. around a test's clock."""
    global _core
    with _lock:
        _core = core or build_core(settings.SHARED)  # the one Settings of this process
    return _core


def get() -> AuthCore:
    return _core or configure()
