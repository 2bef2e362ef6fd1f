"""The errors callers of db_utils handle, independent of pymongo's own tree."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from pymongo import errors as pymongo_errors

__all__ = ["DatabaseUnavailable", "DbError", "UsernameTaken", "translate_errors"]

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


class DatabaseUnavailable(DbError):
    """MongoDB did not answer in time (or answered that it cannot serve now): show a 503."""


def translate_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn pymongo's outage errors into DatabaseUnavailable so apps need not know pymongo."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except pymongo_errors.ConnectionFailure as exc:  # incl. AutoReconnect, timeouts
            raise DatabaseUnavailable(str(exc)) from exc
        except pymongo_errors.OperationFailure as exc:
            if exc.code in _UNAVAILABLE_CODES:
                raise DatabaseUnavailable(str(exc)) from exc
            raise

    return wrapper
