"""The shared packages import no web framework (dependency direction: apps -> auth_utils
-> db_utils), so any framework can use them."""

import json
import subprocess
import sys


def test_shared_packages_import_no_framework():
    # Every module of both packages (auth_utils imports its names on first use).
    code = (
        "import sys, json, importlib, pkgutil, auth_utils, db_utils;"
        "[importlib.import_module(m.name) for p in (auth_utils, db_utils) "
        "for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.')];"
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'starlette', 'django', 'landing', 'web', 'uvicorn', 'jinja2'})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert json.loads(out.stdout) == []


def test_public_surface():
    import auth_utils
    import db_utils

    for module in (auth_utils, db_utils):
        assert all(hasattr(module, name) for name in module.__all__)


def test_settings_alone_import_no_core():
    """`uv run dev` (and db, mail) need only the settings: importing them must not pull in
    the core (pymongo, webauthn, authlib: a second of a warm `dev` start)."""
    code = ("import sys, json; from auth_utils import load_settings, Settings;"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'pymongo', 'db_utils', 'webauthn', 'authlib', 'httpx', 'mongoengine'} "
            "or m == 'auth_utils.core')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert json.loads(out.stdout) == []

