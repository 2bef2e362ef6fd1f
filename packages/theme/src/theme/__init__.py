"""The look both apps share: the stylesheet, the favicon and the passkey module
(`static/`), how they are served (`theme.assets`) and how times read (`theme.times`).
Framework-free: each app only adapts these to its own request and response types."""

from pathlib import Path

__all__ = ["STATIC_DIR"]

STATIC_DIR = Path(__file__).parent / "static"
