"""The technicians' desktop app: `create_app(config)` builds it; nothing runs at import time."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Mapping

__all__ = ["create_app", "launch_url"]

#: Settings create_app understands; launchers (app/desktop.py, app/cli.py) and tests pass them.
DEFAULTS: dict[str, Any] = {
    "RENTDESK_HOME": None,  # data folder; else $RENTDESK_HOME; else the per-user folder (app/paths.py)
    "LAUNCH_SECRET": None,  # per-launch secret; None makes a fresh random one
    "TRUST_DEMO_KEY": False,  # trust keys/demo/demo.pub (rentdesk demo and tests only, DESIGN §4)
    "TESTING": False,
    "CLOCK": None,  # callable (or object with .now()) giving whole UTC seconds; None is the system clock
    "ALLOWED_HOSTS": None,  # Host headers accepted, e.g. {"127.0.0.1:8123"}; None: loopback names, any port
    "PEER_CHECK": True,  # answer only this user's own programs (Linux says who owns a socket; DESIGN §6)
    "LANGUAGE": None,  # forced UI language ("en" or "fr"); None follows Settings, then the system
    "SERVER_URL": None,  # a license server URL proposed on the first-run screen (rentdesk demo)
    "KEYS_DIR": None,  # trusted public keys; None is the shipped keys/ folder
    "USER_KEYS_DIR": None,  # the technician's own trusted keys (DESIGN §6); None is paths.user_keys_dir(home)
    "UNLOCK_FREE_ATTEMPTS": 3,  # wrong passphrases before each further attempt must wait
    "UNLOCK_DELAY_S": 5,  # first wait; it doubles with each further failure, up to UNLOCK_MAX_DELAY_S
    "UNLOCK_MAX_DELAY_S": 300,
    # templates compiled when the bundle was built (app/web/compiled.py); None: the bundle's compiled-templates/
    # (absent from a source tree: templates compile as they are first drawn); "": none
    "COMPILED_TEMPLATES": None,
}


def create_app(config: Mapping[str, Any] | None = None):
    """Build the Flask app for one launch: settings, localhost guard, i18n, screens."""
    from flask import Flask

    from . import paths

    config = dict(config or {})
    root = paths.resource_root()
    home = Path(config.get("RENTDESK_HOME") or paths.data_dir()).expanduser().resolve()
    app = Flask(
        __name__,
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
        # the default instance folder sits next to the code, read-only in a frozen bundle
        instance_path=str(home),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.update(config)
    app.config["RENTDESK_HOME"] = str(home)
    if not app.config["LAUNCH_SECRET"]:
        app.config["LAUNCH_SECRET"] = secrets.token_urlsafe(32)
    # Flask's session is not used for auth (the launch cookie is); it holds flashes, in memory (app/web/session.py).
    app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.config.setdefault("KEYS_DIR", None)
    app.config["KEYS_DIR"] = str(app.config["KEYS_DIR"] or paths.keys_dir())
    app.config["USER_KEYS_DIR"] = str(app.config["USER_KEYS_DIR"] or paths.user_keys_dir(home))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(root / "translations")

    from . import web
    from .web import compiled

    web.init_app(app)
    folder = app.config["COMPILED_TEMPLATES"]
    if folder is None:
        folder = root / compiled.FOLDER
    if folder:
        compiled.use(app, folder)
    return app


def launch_url(app, host: str, port: int) -> str:
    """The URL a launcher opens once: it trades the launch secret for the HttpOnly cookie.

    Calling it also pins the Host check to this exact host and port (DESIGN §6).
    """
    from .web.security import allow_host, launch_path

    allow_host(app, f"{host}:{port}")
    url = f"http://{host}:{port}{launch_path(app)}"
    app.config["LAUNCH_URL"] = url  # for whoever opens the window or prints the address
    return url
