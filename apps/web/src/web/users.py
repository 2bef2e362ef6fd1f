"""What `request.user` is in the web app: a user from the shared session, or anonymous."""

from __future__ import annotations

from auth_utils import SessionUser

__all__ = ["AnonymousUser", "AuthenticatedUser"]


class AuthenticatedUser:
    """The slice of Django's user interface that views and templates use."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, user: SessionUser) -> None:
        self.id = self.pk = user.id
        self.username = user.username

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


class AnonymousUser:
    is_authenticated = False
    is_anonymous = True
    is_active = False
    is_staff = False
    is_superuser = False
    id = pk = None
    username = ""

    def get_username(self) -> str:
        return ""

    def __str__(self) -> str:
        return "AnonymousUser"
