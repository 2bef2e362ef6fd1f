"""The stylesheet both apps serve, so the landing site and the web app look alike."""

from pathlib import Path

__all__ = ["STATIC_DIR"]

STATIC_DIR = Path(__file__).parent / "static"
