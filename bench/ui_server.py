"""Serve the desktop app on a pre-seeded store (encrypted, or plain with --plain) for bench/ui.py.

The store is opened the way the app opens it (services.unlock: raw key derived once) and handed to
the launch state, as the unlock screen does; the app is served by the launcher's own LocalServer.
Prints one JSON line {"url": launch URL, "csrf": token}, then serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", required=True)
    parser.add_argument("--passphrase", default="")
    parser.add_argument("--plain", action="store_true", help="the plain SQLite twin (encrypted_over_plain)")
    parser.add_argument("--now", type=int, required=True, help="the app's clock, fixed for the run")
    args = parser.parse_args(argv)

    from app import create_app, launch_url, services
    from app.launcher import LocalServer
    from app.store import Store
    from app.web.security import csrf_token
    from app.web.state import EXTENSION

    if args.plain:
        store = Store(Path(args.home), None, demo=True)
    else:
        store = services.unlock(args.home, args.passphrase, demo=True)
    now = args.now
    app = create_app({"RENTDESK_HOME": args.home, "TRUST_DEMO_KEY": True, "CLOCK": lambda: now})
    app.extensions[EXTENSION].store = store
    server = LocalServer(app)
    url = launch_url(app, "127.0.0.1", server.port)
    server.start()
    with app.app_context():
        token = csrf_token(app)
    print(json.dumps({"url": url, "csrf": token}), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    store.close()


if __name__ == "__main__":
    main()
