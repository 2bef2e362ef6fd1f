#!/usr/bin/env python
"""Django's usual entry point, for developers who expect it (same as `uv run web ...`)."""

import sys

from web.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
