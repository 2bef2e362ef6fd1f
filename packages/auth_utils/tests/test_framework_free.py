"""The shared packages import no web framework (dependency direction: apps -> auth_utils
-> db_utils), so any framework can use them."""

import json
import subprocess
import sys


def test_shared_packages_import_no_framework():
    code = (
        "import sys, json, auth_utils, auth_utils.ops.cli, auth_utils.services.session_cache,"
        " db_utils;"
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
