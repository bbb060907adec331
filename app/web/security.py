"""Localhost safety (DESIGN §6): launch cookie, Host check, same-origin and CSRF on every POST.

The app listens on 127.0.0.1, where any web page the technician visits could reach it.
Only the window RentDesk opened holds the launch cookie; a rebinding page has the wrong
Host; a cross-site form has a foreign Origin and no CSRF token.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import threading
from urllib.parse import urlsplit

from flask import Flask, current_app, make_response, redirect, render_template, request, url_for

from ..ownership import ROOT_UID

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "[::1]"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: Endpoints that answer without the launch cookie: they reveal nothing.
OPEN_ENDPOINTS = {"web.healthz", "web.launch", "static"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
TICKETS = "rentdesk.launch-tickets"


class RequestRefused(Exception):
    """A request the localhost guard refuses; reason is for the log and the tests, never secret."""

    def __init__(self, reason: str, status: int = 403):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class LaunchTickets:
    """The launch secrets of one launch, each good for one use (DESIGN §6).

    A launch URL leaks easily (a browser's command line in /proc/PID/cmdline, its history, a
    terminal): whoever follows it first gets the cookie, every later use gets a page saying to
    start RentDesk again. The cookie and the CSRF token derive from a key that never leaves this
    process, so knowing a launch secret says nothing about them.
    """

    def __init__(self, first: str):
        self.key = secrets.token_bytes(32)
        self._live = {self._digest(first)}
        self._spent: set[str] = set()
        self._lock = threading.Lock()

    @staticmethod
    def _digest(secret: str) -> str:
        return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()

    def issue(self) -> str:
        """A fresh one-use secret (the launcher's "show yourself" in browser mode opens a new one)."""
        secret = secrets.token_urlsafe(32)
        with self._lock:
            self._live.add(self._digest(secret))
        return secret

    def redeem(self, secret: str) -> str:
        """"ok" the first time a live secret is used (it is spent from then on), "spent" later, else "wrong"."""
        digest = self._digest(secret)
        with self._lock:
            if digest in self._live:
                self._live.discard(digest)
                self._spent.add(digest)
                return "ok"
            return "spent" if digest in self._spent else "wrong"


def tickets(app: Flask) -> LaunchTickets:
    found = app.extensions.get(TICKETS)
    if found is None:
        found = app.extensions[TICKETS] = LaunchTickets(app.config["LAUNCH_SECRET"])
    return found


def _derive(app: Flask, purpose: bytes) -> str:
    return hmac.new(tickets(app).key, purpose, hashlib.sha256).hexdigest()


def cookie_name(port: str | int | None) -> str:
    """One cookie per port: cookies ignore ports, and two RentDesks (demo and real) may run at once."""
    return f"rentdesk_{port or 'app'}"


def cookie_value(app: Flask) -> str:
    """What the launch cookie holds: derived from the secret, so the secret itself never sits in a cookie."""
    return _derive(app, b"rentdesk/launch-cookie")


def csrf_token(app: Flask | None = None) -> str:
    """The per-launch CSRF token every POST must carry (form field or htmx header)."""
    return _derive(app or current_app, b"rentdesk/csrf")


def launch_path(app: Flask, secret: str | None = None) -> str:
    """The path that trades a launch secret (the launch's first one unless given) for the cookie, once."""
    return f"/launch?secret={secret or app.config['LAUNCH_SECRET']}"


def fresh_launch_path(app: Flask) -> str:
    """A path with a new one-use secret: for opening the app again in this launch (the first one is spent)."""
    return launch_path(app, tickets(app).issue())


def allow_host(app: Flask, host: str) -> None:
    """Accept this exact Host header from now on (the launcher knows the port once bound)."""
    hosts = app.config.get("ALLOWED_HOSTS")
    hosts = set(hosts or ())
    hosts.add(host.lower())
    if host.startswith("127.0.0.1:"):
        hosts.add("localhost:" + host.split(":", 1)[1])
    app.config["ALLOWED_HOSTS"] = hosts


def _request_port() -> str | None:
    host = request.host
    if host.startswith("["):
        _, _, rest = host.partition("]")
        return rest[1:] or None
    return host.rpartition(":")[2] if ":" in host else None


@functools.lru_cache(maxsize=1)
def _can_tell_peers() -> bool:
    from .. import peer

    return peer.can_tell()


def check_peer(app: Flask) -> None:
    """Refuse a connection from another user of this computer (DESIGN §6), cookie or not: a browser hands the
    launch cookie to every server on 127.0.0.1, whatever its port, so another user's server can collect it."""
    from .. import peer

    environ = request.environ
    remote_port = environ.get("REMOTE_PORT")
    if not app.config.get("PEER_CHECK", True) or remote_port in (None, "") or not _can_tell_peers():
        return  # the test client (no socket), or a system that does not say who owns a socket
    # asked at every request (44 us): the local server closes each connection after its answer, so an answer kept
    # per connection was never asked again
    owner = peer.socket_owner((str(environ.get("REMOTE_ADDR", "")), int(remote_port)),
                              (str(environ.get("SERVER_NAME", "")), int(environ.get("SERVER_PORT") or 0)))
    if owner is None:
        raise RequestRefused("a connection whose owner the system does not list")
    if owner not in (os.geteuid(), ROOT_UID):  # root may: it can read the app's memory and files anyway
        raise RequestRefused(f"a connection from user {owner}, not this app's user")


def check_host(app: Flask) -> None:
    """Refuse a Host that is not the app's own (DNS rebinding)."""
    host = (request.host or "").lower()
    allowed = app.config.get("ALLOWED_HOSTS")
    if allowed:
        if host not in {h.lower() for h in allowed}:
            raise RequestRefused(f"host {host!r} is not this app's")
        return
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if name not in LOOPBACK_NAMES:
        raise RequestRefused(f"host {host!r} is not a loopback name")


def _same(sent: str, expected: str) -> bool:
    """Constant-time comparison that also takes non-ASCII input (compare_digest refuses such str: a 500)."""
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def has_launch_cookie(app: Flask) -> bool:
    """True when one of the cookies of this port's name is the launch cookie. Another program on 127.0.0.1 may set
    cookies of the same name for a longer path (cookies ignore ports): the browser sends them first, beside ours,
    and they must not shut the window out."""
    expected = cookie_value(app)
    return any(_same(sent, expected) for sent in request.cookies.getlist(cookie_name(_request_port())))


def check_launch_cookie(app: Flask) -> None:
    """Refuse a request that did not come from the window RentDesk opened."""
    if not has_launch_cookie(app):
        raise RequestRefused("no launch cookie")


def check_same_origin() -> None:
    """Refuse a state-changing request sent by another site (Origin or Sec-Fetch-Site say so)."""
    origin = request.headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or parts.netloc.lower() != (request.host or "").lower():
            raise RequestRefused(f"cross-origin request from {origin!r}")
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in {"same-origin", "none"}:
        raise RequestRefused(f"cross-site request ({site})")


def check_csrf(app: Flask) -> None:
    """Every POST carries the launch's CSRF token, in the htmx header or a hidden form field."""
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    if not _same(sent, csrf_token(app)):
        raise RequestRefused("missing or wrong CSRF token")


def guard() -> None:
    """before_request: every check of DESIGN §6 in order; the first that fails refuses."""
    app = current_app._get_current_object()
    check_peer(app)
    check_host(app)
    if request.endpoint in OPEN_ENDPOINTS:
        return
    check_launch_cookie(app)
    if request.method not in SAFE_METHODS:
        check_same_origin()
        check_csrf(app)


LAUNCH_SPENT = "launch secret already used"


def refused(error: RequestRefused):
    """The short page a refused request gets: no data, just what to do."""
    current_app.logger.warning("refused %s %s: %s", request.method, request.path, error.reason)
    response = make_response(render_template("refused.html", reason_code=error.reason,
                                             spent=error.reason == LAUNCH_SPENT), error.status)
    return response


def launch():
    """Trade a launch secret, once, for the HttpOnly SameSite=Strict cookie; a second use is refused."""
    from . import start_page  # straight there, not through "/" (one request less before the window's first page)

    app = current_app._get_current_object()
    outcome = tickets(app).redeem(request.args.get("secret", ""))
    if outcome == "spent" and has_launch_cookie(app):
        return redirect(start_page())  # the window that holds the cookie reloaded its first address
    if outcome == "spent":
        raise RequestRefused(LAUNCH_SPENT)
    if outcome != "ok":
        raise RequestRefused("wrong launch secret")
    response = redirect(start_page())
    response.set_cookie(
        cookie_name(_request_port()), cookie_value(app), httponly=True, samesite="Strict", path="/",
        secure=False,  # plain HTTP on loopback; the cookie never leaves 127.0.0.1
    )
    return response


from ..csvfile import FORMULA_STARTS, spreadsheet_safe  # noqa: E402,F401 - one CSV writer for every CSV (app/csvfile.py)


def add_headers(response):
    """after_request: nothing cached (money changes by the second), no framing, no referrer to other sites."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" would make Chromium send Origin: null
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    )
    response.vary.add("HX-Request")
    response.vary.add("Cookie")
    return response


def init_app(app: Flask) -> None:
    """Install the guard on every request and the refusal page."""
    tickets(app)  # the launch's first secret is live from now on
    app.before_request(guard)
    app.after_request(add_headers)
    app.register_error_handler(RequestRefused, refused)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["CSRF_FIELD"] = CSRF_FIELD
