"""Fixtures of the web app's own tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def login_session(web_services):
    """Make a user and a session as the landing app would; returns (token, user, session)."""
    from auth_utils import hash_password

    def make(username: str = "alice", password: str = "correct horse"):
        user = web_services.storage.users.create(username, hash_password(password),
                                                 web_services.sessions.clock())
        token, session = web_services.sessions.create_session(user.id, user.username)
        return token, user, session

    return make
