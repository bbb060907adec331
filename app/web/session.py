"""Flask's session, which holds only the flashes, kept in this process and never in a cookie (DESIGN §6).

A flash may name a customer, an account or a PBX. Flask's own session cookie is signed, not encrypted, and a
browser sends a cookie to every server on 127.0.0.1, whatever its port (and this one on top-level visits from
other sites too): the words would reach whoever listens there. One launch serves one technician, whose every
request carries the launch cookie, so one session held in memory is theirs.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSession, SessionInterface

KEY = "rentdesk.session"


class ProcessSession(SessionInterface):
    """The launch's one session, in memory: nothing is read from or written to a cookie."""

    def open_session(self, app: Flask, request) -> SecureCookieSession:
        return app.extensions[KEY]

    def save_session(self, app: Flask, session, response) -> None:
        return None  # it stays in this process


def init_app(app: Flask) -> None:
    app.extensions[KEY] = SecureCookieSession()
    app.session_interface = ProcessSession()
