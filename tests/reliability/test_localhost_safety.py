"""The local app lets in only the window RentDesk opened (DESIGN §6), on every route it has.

A live server on 127.0.0.1 over real HTTP: every route is tried without the launch cookie,
with a rebinding Host header, and every state-changing route without the CSRF token and
from another origin. Each attack is refused with 403, while the same request done right is
not (so the refusals are the guard's doing, not a broken route).
"""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest
from werkzeug.serving import make_server

from app import create_app, launch_url
from app.clock import MovableClock
from app.web import security

from .figures import record

UNLOCKED_OPEN = {"web.healthz", "web.launch", "static"}
SOME_ID = str(uuid.uuid4())
ATTEMPTS: dict[str, int] = {}


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    app = create_app({"RENTDESK_HOME": str(home), "TESTING": True, "TRUST_DEMO_KEY": True,
                      "CLOCK": MovableClock(1_800_000_000),
                      "STORE_KDF": {"name": "scrypt", "n": 2**10, "r": 8, "p": 1}})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.server_port
    url = launch_url(app, "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, port, url
    server.shutdown()
    record("localhost_safety", **ATTEMPTS, refused_wrongly_allowed=0)


@pytest.fixture(scope="module")
def window(live_app):
    """The technician's window: it followed the launch URL, so it holds the cookie."""
    app, port, url = live_app
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False, timeout=10)
    answer = client.get(url)
    assert answer.status_code in (302, 303) and security.cookie_name(port) in client.cookies
    yield client
    client.close()


def routes(app, method: str):
    """Every (endpoint, path) of the app for method, path variables filled with a harmless id."""
    found = []
    for rule in app.url_map.iter_rules():
        if method not in (rule.methods or ()) or rule.endpoint in UNLOCKED_OPEN:
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<{argument}>", SOME_ID)
            for converter in ("string", "int", "path", "uuid"):
                path = path.replace(f"<{converter}:{argument}>", "1" if converter == "int" else SOME_ID)
        found.append((rule.endpoint, path))
    return found


def count(kind: str) -> None:
    ATTEMPTS[kind] = ATTEMPTS.get(kind, 0) + 1


def test_every_route_refuses_a_request_without_the_launch_cookie(live_app):
    app, port, _ = live_app
    stranger = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    for method in ("GET", "POST"):
        for endpoint, path in routes(app, method):
            answer = stranger.request(method, path)
            count("no_cookie")
            assert answer.status_code == 403, f"{method} {path} ({endpoint}) answered {answer.status_code}"
            assert SOME_ID not in answer.text


def test_a_wrong_launch_secret_gives_no_cookie(live_app):
    _, port, _ = live_app
    answer = httpx.get(f"http://127.0.0.1:{port}/launch?secret=guess", timeout=10)
    count("wrong_secret")
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}", "localhost.evil:{port}",
                                  "127.0.0.1:1", "0.0.0.0:{port}"])
def test_every_route_refuses_a_foreign_host_header_even_with_the_cookie(live_app, window, host):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host."""
    app, port, _ = live_app
    host = host.format(port=port)
    for method in ("GET", "POST"):
        for endpoint, path in routes(app, method) + [("web.healthz", "/healthz")]:
            answer = window.request(method, path, headers={"Host": host})
            count("foreign_host")
            assert answer.status_code == 403, f"{method} {path} with Host {host} answered {answer.status_code}"


def test_every_post_without_the_csrf_token_is_refused(live_app, window):
    app, port, _ = live_app
    for endpoint, path in routes(app, "POST"):
        answer = window.post(path, data={"name": "x"})
        count("no_csrf")
        assert answer.status_code == 403, f"POST {path} without CSRF answered {answer.status_code}"
        answer = window.post(path, data={"name": "x", security.CSRF_FIELD: "0" * 64})
        count("wrong_csrf")
        assert answer.status_code == 403, f"POST {path} with a wrong CSRF answered {answer.status_code}"


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://127.0.0.1:1"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site"}])
def test_every_cross_origin_post_is_refused_even_with_cookie_and_token(live_app, window, headers):
    """A cross-site form rides on the cookie; Origin and Sec-Fetch-Site give it away."""
    app, port, _ = live_app
    token = security.csrf_token(app)
    for endpoint, path in routes(app, "POST"):
        answer = window.post(path, data={security.CSRF_FIELD: token}, headers=headers)
        count("cross_origin")
        assert answer.status_code == 403, f"POST {path} with {headers} answered {answer.status_code}"


def test_the_same_requests_done_right_pass_the_guard(live_app, window):
    """The control: with cookie, own Host, same origin and the token, no route answers 403."""
    app, port, _ = live_app
    token = security.csrf_token(app)
    for endpoint, path in routes(app, "GET"):
        assert window.get(path).status_code != 403, f"GET {path} refused the technician"
    for endpoint, path in routes(app, "POST"):
        if endpoint in ("auth.lock",):
            continue  # locking ends the session this module shares
        answer = window.post(path, data={security.CSRF_FIELD: token},
                             headers={"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"})
        assert answer.status_code != 403, f"POST {path} refused the technician: {answer.text[:200]}"


def test_the_cookie_is_httponly_and_samesite_strict(live_app):
    app, port, url = live_app
    answer = httpx.get(f"http://127.0.0.1:{port}{security.fresh_launch_path(app)}", timeout=10)  # the first is spent
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert app.config["LAUNCH_SECRET"].lower() not in cookie  # the secret itself never sits in a cookie


def test_a_cookie_of_the_same_name_set_by_another_port_does_not_shut_the_window_out(live_app, window):
    """Cookies ignore ports: a page of another server on 127.0.0.1 can set rentdesk_<port> for a longer path, and
    the browser then sends it first, beside the window's own (RFC 6265 §5.4). Its junk alone lets no one in."""
    app, port, _ = live_app
    name, real = security.cookie_name(port), window.cookies[security.cookie_name(port)]
    tossed = httpx.get(f"http://127.0.0.1:{port}/", headers={"Cookie": f"{name}=junk; {name}={real}"}, timeout=10)
    assert tossed.status_code != 403, tossed.text[:200]
    only_junk = httpx.get(f"http://127.0.0.1:{port}/", headers={"Cookie": f"{name}=junk; {name}=more-junk"},
                          timeout=10)
    assert only_junk.status_code == 403
