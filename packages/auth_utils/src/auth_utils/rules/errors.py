"""The core's own error for bad configuration, apart from the modules that raise it so
that the settings and the storage adapter can both use it without importing each other."""

__all__ = ["SettingsError"]


class SettingsError(Exception):
    """A setting is missing or wrong; the message says which and how to fix it."""
