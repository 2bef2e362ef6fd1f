"""The errors callers of db_utils handle, independent of pymongo's own tree."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from pymongo import errors as pymongo_errors

__all__ = [
    "ChangeStreamUnsupported",
    "DatabaseUnavailable",
    "DbError",
    "StreamInvalidated",
    "UsernameTaken",
    "translate_errors",
    "translating",
]

P = ParamSpec("P")
R = TypeVar("R")

# Server answers that mean "not now" rather than "your query is wrong": not primary,
# shutting down, stepped down, host unreachable, network or time limits.
_UNAVAILABLE_CODES = frozenset({6, 7, 50, 89, 91, 189, 262, 10107, 11600, 11602, 13435, 13436})


class DbError(Exception):
    """Base class of every error db_utils raises on purpose."""


class UsernameTaken(DbError):
    """The unique index on `users.username` refused a second user of this name."""

    def __init__(self, username: str) -> None:
        super().__init__(f"username {username!r} is taken")
        self.username = username


class EmailTaken(DbError):
    """The unique index on the verified address refused it: another account has it."""


class DatabaseUnavailable(DbError):
    """MongoDB did not answer in time (or answered that it cannot serve now): show a 503."""


class ChangeStreamUnsupported(DbError):
    """The deployment has no change streams (a standalone `mongod`)."""


class StreamInvalidated(DbError):
    """The change stream ended (collection dropped or renamed, cursor closed)."""


@contextlib.contextmanager
def translating() -> Iterator[None]:
    """Turn pymongo's outage errors into DatabaseUnavailable so callers need not know
    pymongo; other errors (a wrong query) propagate as they are."""
    try:
        yield
    except pymongo_errors.ConnectionFailure as exc:  # incl. AutoReconnect, timeouts
        raise DatabaseUnavailable(str(exc)) from exc
    except pymongo_errors.OperationFailure as exc:
        if exc.code in _UNAVAILABLE_CODES:
            raise DatabaseUnavailable(str(exc)) from exc
        raise


def translate_errors(func: Callable[P, R]) -> Callable[P, R]:
    """`translating()` around a whole function."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with translating():
            return func(*args, **kwargs)

    return wrapper
