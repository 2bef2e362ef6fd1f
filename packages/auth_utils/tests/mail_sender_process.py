"""A mail sender alone in its own process, as an app process runs it (for the tests):
the core from the environment, `start_mail_sender` with the tests' lease and backoff;
prints "ready", then runs until SIGTERM (or 120 s at most). Usage: python THIS NAME"""

from __future__ import annotations

import signal
import sys
import threading

from auth_utils import build_core, load_settings
from devtools.testing import FAST_MAIL_SENDER


def main() -> int:
    core = build_core(load_settings(), cache=False)
    core.start_mail_sender(name=sys.argv[1] if len(sys.argv) > 1 else "mail-sender",
                           **FAST_MAIL_SENDER)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait(120)
    core.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
