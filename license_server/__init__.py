"""RentDesk's license server: the authority for credit, keys and signed answers (DESIGN §5).

`create_app(config)` builds the Flask app; nothing happens at import time.
Production: `gunicorn "license_server:create_app()"` with settings in LICENSE_SERVER_<KEY>.
"""

from __future__ import annotations

from typing import Any, Mapping


def create_app(config: Mapping[str, Any] | None = None):
    """The WSGI app: settings from config, else LICENSE_SERVER_<KEY> (DESIGN §5); CLOCK only from config."""
    from flask import Flask

    from . import api, cli, customer, errors, logs, metrics, readiness, sweep
    from .config import flask_keys
    from .context import ServerContext

    flask_config = {key: value for key, value in (config or {}).items() if key in flask_keys()}
    ctx = ServerContext.from_config(config)
    ctx.signer  # fail at start, not at the first answer, when the signing key is missing or unreadable
    app = Flask(__name__, instance_path=ctx.settings.INSTANCE_PATH)
    app.ensure_sync = _sync_once(app.ensure_sync)
    app.config.update(flask_config)  # Flask's own keys (TESTING, …) beside ours
    app.config["MAX_CONTENT_LENGTH"] = ctx.settings.MAX_BODY_BYTES
    app.config["RENTDESK_VERSION"] = version()
    app.json.sort_keys = False
    app.extensions["license_server"] = ctx
    logs.init_app(app, ctx)  # request ids, one line per request, its metrics (before the API's own hooks)
    _warn_of_demo_keys(ctx)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(readiness.blueprint)  # GET /api/v1/ready, no token
    metrics.init_app(app, ctx)  # /metrics only when METRICS is on
    app.register_blueprint(customer.blueprint)  # R27: the customer's own page, HTML outside /api/v1
    errors.init_app(app)
    cli.init_app(app)  # the license-server commands are also this app's CLI, on its settings and CLOCK
    if ctx.settings.PROXY_HOPS:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # the client's address as the proxies saw it, so token and link guesses are counted per client (only the
        # entries the trusted proxies appended are read: a client's own X-Forwarded-For is ignored)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=ctx.settings.PROXY_HOPS, x_proto=0, x_host=0, x_port=0,
                                x_prefix=0)
    if ctx.settings.SWEEP_INTERVAL:
        sweep.start_periodic(ctx, ctx.settings.SWEEP_INTERVAL)
    return app


def _warn_of_demo_keys(ctx) -> None:
    """Say it at start when this server trusts the public demo key (its own signing key, or a file of
    TRUSTED_KEYS_DIR): anyone can make activation keys it then accepts. Right for `rentdesk demo` and tests only."""
    import logging

    for kid in ctx.keyring.demo_kids():
        logging.getLogger("license_server").warning(
            "the key %r is RentDesk's public demo key, whose private half everyone has: anyone can make activation "
            "keys this server accepts. For real credit, make your own with `license-server gen-key --kid K --out DIR`, "
            "point LICENSE_SERVER_SIGNING_KEY_PATH at it, and keep demo.pub out of TRUSTED_KEYS_DIR.", kid)


def _sync_once(ensure_sync):
    """Flask's ensure_sync, its verdict kept per function: Flask asks it of every hook and view at every request
    (an `inspect.iscoroutinefunction` each, five per /sync: issue 27), and a function's kind never changes. Only
    plain functions are remembered (an `async def` one is wrapped anew each time, as Flask does)."""
    plain: set = set()

    def ensure(func):
        try:
            if func in plain:
                return func
        except TypeError:  # a bound method of an unhashable object: asked every time
            return ensure_sync(func)
        made = ensure_sync(func)
        if made is func and len(plain) < 1024:  # hooks and views: a few dozen
            plain.add(func)
        return made

    return ensure


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as dist_version

    try:
        return dist_version("rentdesk")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"
