"""`uv run web`: the Django development server on WEB_URL's port.

`uv run web check --deploy` (or any other management command) runs that command instead.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    from auth_utils import SettingsError, load_settings

    try:
        shared = load_settings()
    except SettingsError as exc:
        print(f"web: {exc}", file=sys.stderr)
        return 2
    from django.core.management import execute_from_command_line

    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        url = urlsplit(shared.web_url)
        port = url.port or (443 if url.scheme == "https" else 80)
        host = os.environ.get("BIND_HOST", "127.0.0.1")
        args = ["runserver", f"{host}:{port}", *args]
        if shared.app_env != "development" and "--noreload" not in args:
            args.append("--noreload")
    execute_from_command_line(["web", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
