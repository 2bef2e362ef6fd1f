"""`uv run landing`: serve the landing app on LANDING_URL's port."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import uvicorn
from auth_utils import SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"landing: {exc}", file=sys.stderr)
        return 2
    url = urlsplit(settings.landing_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    host = "127.0.0.1" if url.hostname in ("localhost", "127.0.0.1") else "0.0.0.0"  # noqa: S104
    reload = settings.app_env == "development" and "--no-reload" not in sys.argv
    uvicorn.run(
        "landing.app:create_app", factory=True, host=host, port=port, reload=reload,
        proxy_headers=False, server_header=False, log_level="info",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
