"""The fault proxy really injects the faults the other reliability tests rely on (a tool that cannot fail proves nothing)."""

from __future__ import annotations

import http.server
import sys
import threading

import httpx
import pytest

from tests.support.faults import FaultProxy, KillableProcess, free_port


class _Counting(http.server.BaseHTTPRequestHandler):
    seen: list[bytes] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append(body)
        answer = b'{"ok": true, "padding": "' + b"x" * 2000 + b'"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a reset mid-request is the fault under test, not news


@pytest.fixture
def upstream():
    _Counting.seen = []
    server = _QuietServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(upstream):
    with FaultProxy(("127.0.0.1", upstream.server_address[1])) as proxy:
        yield proxy


def post(proxy, body=b"hello", timeout=5.0):
    return httpx.post(proxy.url + "/x", content=body, timeout=timeout)


def test_an_unplanned_connection_is_forwarded_untouched(proxy):
    assert post(proxy).json()["ok"] is True
    assert _Counting.seen == [b"hello"] and not proxy.injected


def test_a_cut_answer_reaches_the_server_whole_but_the_client_sees_a_broken_answer(proxy):
    proxy.plan("cut_response", after=100)

    with pytest.raises(httpx.TransportError):
        post(proxy)
    assert _Counting.seen == [b"hello"]  # the server acted: only its answer was lost
    assert proxy.injected["cut_response"] == 1
    assert post(proxy).status_code == 200  # the next connection is healed


def test_a_refused_connection_never_reaches_the_server(proxy):
    proxy.plan("refuse")

    with pytest.raises(httpx.TransportError):
        post(proxy)
    assert _Counting.seen == [] and proxy.injected["refuse"] == 1


def test_a_request_cut_midway_is_never_acted_on(proxy):
    proxy.plan("cut_request", after=20)

    with pytest.raises(httpx.TransportError):
        post(proxy, body=b"a" * 500)
    assert _Counting.seen == []


def test_a_blackholed_request_times_out_on_the_client(proxy):
    proxy.plan("blackhole")

    with pytest.raises(httpx.TimeoutException):
        post(proxy, timeout=0.3)
    assert _Counting.seen == []


def test_a_hook_runs_once_the_request_went_through(proxy):
    called = threading.Event()
    proxy.plan("on_request", hook=called.set)

    assert post(proxy).status_code == 200
    assert called.wait(5)


def test_an_answer_hook_runs_after_the_server_acted_and_the_client_gets_nothing(proxy):
    called = threading.Event()
    proxy.plan("on_answer", hook=called.set)

    with pytest.raises(httpx.TransportError):
        post(proxy)
    assert called.is_set() and _Counting.seen == [b"hello"]


def test_a_killed_process_is_gone_at_once_and_starts_again_on_its_port(tmp_path):
    port = free_port()
    server = KillableProcess([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)], port=port,
                             cwd=str(tmp_path))
    server.start()
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200

    assert server.kill() is True
    assert server.process.returncode == -9
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)

    server.start()
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    finally:
        server.kill()
