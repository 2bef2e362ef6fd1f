"""The process's settings, session manager and accounts, built once (tests may replace)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import db_utils
from auth_utils import (
    Accounts,
    CookieSettings,
    SessionManager,
    Settings,
    load_settings,
    session_manager_for,
)

__all__ = ["Services", "configure", "get"]

log = logging.getLogger("web")


@dataclass
class Services:
    settings: Settings
    sessions: SessionManager
    accounts: Accounts
    cookie: CookieSettings
    indexes_ready: bool = False

    def ensure_indexes(self) -> None:
        """Build indexes once; if MongoDB is down at start-up, try again next request."""
        if self.indexes_ready:
            return
        try:
            db_utils.ensure_indexes()
            self.indexes_ready = True
        except db_utils.DatabaseUnavailable:
            log.warning("database unavailable; indexes will be built when it answers")


_lock = threading.Lock()
_services: Services | None = None


def configure(settings: Settings | None = None, sessions: SessionManager | None = None
              ) -> Services:
    """(Re)build the services, e.g. with a test's clock."""
    global _services
    settings = settings or load_settings()
    sessions = sessions or session_manager_for(settings)
    db_utils.connect(settings.mongo_uri)
    with _lock:
        _services = Services(
            settings, sessions, Accounts(settings, sessions), CookieSettings.from_settings(settings)
        )
    return _services


def get() -> Services:
    return _services or configure()
