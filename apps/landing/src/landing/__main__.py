"""`uv run landing`: serve the landing app on LANDING_URL's port."""

from __future__ import annotations

import os
import sys
from pathlib import Path
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
    host = os.environ.get("BIND_HOST", "127.0.0.1")
    reload = settings.app_env == "development" and "--no-reload" not in sys.argv
    # Watch only the workspace's own sources (not .venv) when running from a checkout.
    root = Path(__file__).resolve().parents[4]
    watch = [str(root / d) for d in ("apps", "packages") if (root / d).is_dir()]
    uvicorn.run(
        "landing.app:create_app", factory=True, host=host, port=port, reload=reload,
        reload_dirs=watch if reload and watch else None,
        proxy_headers=False, server_header=False, log_level="info",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
