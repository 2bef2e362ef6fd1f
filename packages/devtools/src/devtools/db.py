"""`uv run db`: the local database on the host and port of `MONGO_URI`, until Ctrl-C."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence

from auth_utils import SettingsError, load_settings
from devtools.dbserver import DATA_DIR, LocalDatabase, local_address, port_answers
from devtools.processes import CommandParser, interrupt_on


def build_parser() -> CommandParser:
    return CommandParser(
        prog="db", description="Run the local development database (SecantusDB) on the host "
        "and port of MONGO_URI, with its data in .data/db, until Ctrl-C. `uv run dev` starts "
        "it for you; the tests start their own.")


def main(argv: Sequence[str] | None = None) -> int:
    build_parser().parse_args(argv)  # --help and bad arguments answer before anything starts
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"db: {exc}", file=sys.stderr)
        return 2
    address = local_address(settings.mongo_uri)
    if address is None:
        print(f"db: MONGO_URI does not point at this machine ({settings.mongo_uri.split('@')[-1]}"
              "); nothing to start", file=sys.stderr)
        return 2
    host, port = address
    if port_answers(host, port):
        print(f"db: port {host}:{port} is already taken (another database?); "
              "stop it or change MONGO_URI", file=sys.stderr)
        return 1
    db = LocalDatabase(DATA_DIR / "db", host=host, port=port, sync_on_commit=True)
    try:
        db.start()
    except RuntimeError as exc:
        print(f"db: {exc}", file=sys.stderr)
        return 1
    print(f"db: SecantusDB listening on {host}:{port}, data in {DATA_DIR / 'db'} "
          "(Ctrl-C to stop)", flush=True)
    interrupt_on(signal.SIGTERM)
    try:
        assert db.process is not None
        db.process.wait()
        print(f"db: server exited with code {db.process.returncode}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("db: stopping...", flush=True)
        db.stop()
        return 0


if __name__ == "__main__":
    sys.exit(main())
