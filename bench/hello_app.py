"""The bare Flask hello-world the sync figures are compared with (served by gunicorn in bench/sync_http.py)."""

from flask import Flask


def create_app() -> Flask:
    """One route, nothing else: the ceiling of Flask under gunicorn on this machine."""
    app = Flask(__name__)

    @app.get("/")
    def hello():
        return "Hello, World!"

    return app
