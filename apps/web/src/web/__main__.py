"""`uv run web`: the Django development server on WEB_URL's port.

`uv run web check --deploy` (or any other management command) runs that command instead.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

USAGE = """\
usage: web [-h] [RUNSERVER OPTION ...]
       web COMMAND [ARG ...]

Without a command: the Django development server for the web app on the port of WEB_URL,
listening on BIND_HOST (default 127.0.0.1), reloading on code changes in development
(--noreload to turn that off). Its options: `web runserver --help`.

With a command: that Django management command, e.g. `web check --deploy` (with
APP_ENV=production) or `web shell`; `web help` lists them.

Users and passwords live in MongoDB, not in Django's tables: manage them with
`uv run auth-admin` (create-user, reset-link, ...), not createsuperuser/changepassword.

Settings come from the environment, .env and .env.local (see README.md).
"""

# Django's auth commands need a SQL user model, which this app does not have.
AUTH_ADMIN_INSTEAD = {"createsuperuser": "create-user", "changepassword": "reset-link"}
# The management commands that work here. The others need Django's SQL database
# (migrate, dbshell, flush, createcachetable, ...), its mail settings (sendtestemail) or a
# translation tree (makemessages, compilemessages), none of which this app has: each
# would end in a traceback, so they are answered in one line instead.
AVAILABLE = ("check", "diffsettings", "runserver", "shell")


def _help_text(options: list[str]) -> str:
    """`web help [--commands]`: Django's list of commands without the ones that cannot
    work here."""
    from django.core.management import ManagementUtility

    utility = ManagementUtility(["web", "help", *options])
    commands_only = options == ["--commands"]
    lines = utility.main_help_text(commands_only=commands_only).splitlines()
    if commands_only:
        return "\n".join(line for line in lines if line.strip() in AVAILABLE)
    # A command is listed indented under its app's "[section]".
    kept = [line for line in lines if not line.startswith("    ") or line.strip() in AVAILABLE]
    # Drop a section header left with no command under it ("[auth]"), and its blank line.
    kept = [line for i, line in enumerate(kept)
            if not (line.startswith("[") and (i + 1 == len(kept) or not kept[i + 1].strip()))]
    kept = [line for i, line in enumerate(kept) if line or i == 0 or kept[i - 1]]
    return "\n".join([*kept, "", "Users and passwords: `uv run auth-admin --help`."])


def _unavailable(command: str) -> str:
    from django.core.management import get_commands

    if command in get_commands():
        return (f"web: `{command}` does not work here: this app keeps no SQL database, mail "
                "settings or translations of Django's (users and sessions are in MongoDB); "
                "`uv run web help` lists the commands that work")
    return f"web: unknown command `{command}`; `uv run web help` lists the commands"


def _port_taken(host: str, port: int) -> bool:
    """Whether runserver would find host:port in use (bound as it binds: SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            return False
    except OSError as exc:
        return exc.errno == errno.EADDRINUSE


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"]):
        print(USAGE, end="")
        return 0
    command = args[1] if args[:1] == ["help"] and len(args) > 1 else args[0] if args else ""
    if command in AUTH_ADMIN_INSTEAD:
        print(f"web: {command} needs Django's SQL user model, which this app does not use; "
              f"use `uv run auth-admin {AUTH_ADMIN_INSTEAD[command]}`", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    from auth_utils import SettingsError, load_settings

    try:
        shared = load_settings()
    except SettingsError as exc:
        print(f"web: {exc}", file=sys.stderr)
        return 2
    if args[:1] == ["check"] and "--deploy" in args and shared.app_env != "production":
        print(f"web: `check --deploy` checks the production settings; this is APP_ENV="
              f"{shared.app_env}: run it as `APP_ENV=production DJANGO_SECRET_KEY=... "
              "uv run web check --deploy`", file=sys.stderr)
        return 2
    from django.core.management import execute_from_command_line

    if args in (["help"], ["help", "--commands"]):
        import django

        django.setup()
        print(_help_text(args[1:]))
        return 0
    if command and not command.startswith("-") and command not in AVAILABLE:
        print(_unavailable(command), file=sys.stderr)
        return 2
    if not args or args[0].startswith("-"):
        url = urlsplit(shared.web_url)
        port = url.port or (443 if url.scheme == "https" else 80)
        host = os.environ.get("BIND_HOST", "127.0.0.1")
        # Django would say only "Error: That port is already in use." (the reloader's
        # child re-checks: the parent never holds the port).
        if _port_taken(host, port):
            print(f"web: port {port} (WEB_URL {shared.web_url}) on {host} is already taken; "
                  "stop what uses it or change WEB_URL", file=sys.stderr)
            return 1
        args = ["runserver", f"{host}:{port}", *args]
        if shared.app_env != "development" and "--noreload" not in args:
            args.append("--noreload")
    execute_from_command_line(["web", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
