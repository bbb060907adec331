"""Fault injection for tests: a TCP proxy on 127.0.0.1 that forwards or breaks connections, and a killable server.

    with FaultProxy(("127.0.0.1", server_port)) as proxy:    # the app talks to proxy.url
        proxy.plan("cut_response", after=40)                 # next connection: answer cut after 40 bytes
        proxy.plan("refuse")                                  # the one after: closed at once (RST)

    server = KillableProcess([...cmd...], port=p)              # a real subprocess (gunicorn, license-server serve)
    server.start(); server.kill(); server.start()              # SIGKILL, never a polite stop

Faults are planned per connection, in order; a connection with no planned fault is forwarded
untouched. Every fault injected is counted in `proxy.injected`, so a test can prove it happened.
"""

from __future__ import annotations

import collections
import contextlib
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

__all__ = ["FaultProxy", "Fault", "KillableProcess", "wait_for_port", "free_port", "tiny_disk", "fill_disk",
           "read_only_view"]

#: What a connection can suffer, from the client's side of the proxy:
#: forward         nothing: bytes flow both ways untouched
#: refuse          accepted, then reset at once (the server never sees the request)
#: cut_request     the first `after` request bytes reach the server, then both sides are reset
#: cut_response    the whole request reaches the server (it acts on it), the client gets `after`
#:                 answer bytes, then a reset: the classic lost answer to a committed write
#: blackhole       the request is read and swallowed; nothing ever comes back until the client gives up
#: on_request      forward, and call `hook` once the request's first bytes went through (e.g. to
#:                 SIGKILL the server at a random point while it works on them)
#: on_answer       forward the request; when the answer's first bytes arrive (the server has done
#:                 all its work), call `hook` (e.g. SIGKILL the server), then reset the client
#:                 without passing on a byte: a crash after the commit, before the answer
KINDS = ("forward", "refuse", "cut_request", "cut_response", "blackhole", "on_request", "on_answer")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, host: str = "127.0.0.1", process: subprocess.Popen | None = None,
                  timeout: float = 30.0) -> None:
    """Block until something accepts on port (a started server is ready); fail early if process died."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s") from None
            time.sleep(0.01)  # polling a starting process, not waiting for the clock under test


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a dead link or a killed peer looks to the other side."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


@dataclass
class Fault:
    kind: str = "forward"
    after: int = 0
    hook: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r}: one of {', '.join(KINDS)}")


@dataclass
class FaultProxy:
    """A threaded TCP proxy between a client and target that injects the planned faults."""

    target: tuple[str, int]
    port: int = 0
    injected: collections.Counter = field(default_factory=collections.Counter)
    connections: int = 0
    bytes_up: int = 0
    bytes_down: int = 0

    def __post_init__(self) -> None:
        self._plan: collections.deque[Fault] = collections.deque()
        self._default = Fault()
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        self._acceptor = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)

    # -------------------------------------------------------------- control
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def plan(self, kind: str, *, after: int = 0, hook: Callable[[], None] | None = None, times: int = 1) -> None:
        """Queue a fault for the next `times` connections (in arrival order)."""
        with self._lock:
            for _ in range(times):
                self._plan.append(Fault(kind, after, hook))

    def always(self, kind: str, *, after: int = 0, hook: Callable[[], None] | None = None) -> None:
        """The fault every connection gets once the plan is used up ("forward" heals the link)."""
        with self._lock:
            self._default = Fault(kind, after, hook)

    def retarget(self, target: tuple[str, int]) -> None:
        """Send new connections elsewhere (a restarted server on another port)."""
        with self._lock:
            self.target = target

    def pending(self) -> int:
        with self._lock:
            return len(self._plan)

    def start(self) -> "FaultProxy":
        self._acceptor.start()
        return self

    def close(self) -> None:
        self._closed.set()
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            for sock in list(self._open):
                _reset(sock)
        for thread in self._threads:
            thread.join(timeout=5)
        self._acceptor.join(timeout=5)

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -------------------------------------------------------------- plumbing
    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                ready, _, _ = select.select([self._listener], [], [], 0.1)
                if not ready:
                    continue
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                fault = self._plan.popleft() if self._plan else self._default
                target = self.target
                self.connections += 1
                self._open.add(client)
            thread = threading.Thread(target=self._serve, args=(client, target, fault), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1

    def _serve(self, client: socket.socket, target: tuple[str, int], fault: Fault) -> None:
        upstream = None
        try:
            if fault.kind == "refuse":
                self._count("refuse")
                return
            if fault.kind == "blackhole":
                self._count("blackhole")
                while not self._closed.is_set():
                    try:
                        ready, _, _ = select.select([client], [], [], 0.1)
                        if ready and not client.recv(65536):
                            return
                    except (OSError, ValueError):  # closed under us by close(): the test is over
                        return
                return
            try:
                upstream = socket.create_connection(target, timeout=5)
            except OSError:
                self._count("target_down")
                return  # the client sees the connection reset, as with a dead server
            upstream.settimeout(None)
            with self._lock:
                self._open.add(upstream)
            self._pump(client, upstream, fault)
        finally:
            with self._lock:
                self._open.discard(client)
                if upstream is not None:
                    self._open.discard(upstream)
            _reset(client)
            if upstream is not None:
                _reset(upstream)

    def _pump(self, client: socket.socket, upstream: socket.socket, fault: Fault) -> None:
        sent_up = sent_down = 0
        hooked = False
        peers = {client: upstream, upstream: client}
        while not self._closed.is_set():
            try:
                ready, _, _ = select.select(list(peers), [], [], 0.1)
            except (OSError, ValueError):
                return
            for sock in ready:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return  # one side closed: close both (HTTP/1.1 clients reconnect)
                if sock is client:
                    if fault.kind == "cut_request" and sent_up + len(data) >= fault.after:
                        upstream.sendall(data[: max(0, fault.after - sent_up)])
                        self._count("cut_request")
                        return
                    upstream.sendall(data)
                    sent_up += len(data)
                    with self._lock:
                        self.bytes_up += len(data)
                    if fault.kind == "on_request" and not hooked and fault.hook is not None:
                        hooked = True
                        self._count("on_request")
                        threading.Thread(target=fault.hook, daemon=True).start()
                else:
                    if fault.kind == "on_answer":
                        self._count("on_answer")
                        if fault.hook is not None:
                            fault.hook()
                        return
                    if fault.kind == "cut_response" and sent_down + len(data) >= fault.after:
                        try:
                            client.sendall(data[: max(0, fault.after - sent_down)])
                        except OSError:
                            pass
                        self._count("cut_response")
                        return
                    try:
                        client.sendall(data)
                    except OSError:
                        return
                    sent_down += len(data)
                    with self._lock:
                        self.bytes_down += len(data)


class KillableProcess:
    """A server subprocess that tests SIGKILL at will and start again on the same port.

    The whole process group is killed (gunicorn's workers with their master), as a power cut
    or the OOM killer would: no handler runs, no transaction is finished politely.
    """

    def __init__(self, argv: Sequence[str], *, port: int, env: Mapping[str, str] | None = None,
                 cwd: str | None = None, log_path: str | None = None, ready: Callable[[], None] | None = None):
        self.argv = list(argv)
        self.port = port
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.log_path = log_path
        self.ready = ready
        self.process: subprocess.Popen | None = None
        self.kills = 0
        self.starts = 0
        self._log = None
        self._lock = threading.RLock()

    def start(self, timeout: float = 30.0) -> "KillableProcess":
        with self._lock:  # never while a kill timer is still tearing the last one down
            if self.process is not None and self.process.poll() is None:
                raise RuntimeError("the server is already running")
            self._log = open(self.log_path, "ab") if self.log_path else None
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, start_new_session=True,
                stdout=self._log or subprocess.DEVNULL,
                stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
            )
            self.starts += 1
            wait_for_port(self.port, process=self.process, timeout=timeout)
        if self.ready is not None:
            self.ready()
        return self

    @property
    def running(self) -> bool:
        with self._lock:  # a kill under way counts as done only once the port is free
            return self.process is not None and self.process.poll() is None

    def kill(self) -> bool:
        """SIGKILL the whole process group now; False when it had already gone."""
        with self._lock:
            process, log = self.process, self._log
            if process is None:
                return False
            if process.poll() is not None:
                self._close_log()
                return False
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)
            self.kills += 1
            self._close_log()
            # The port is free again once every worker is gone; wait for that before a restart.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                        break
                time.sleep(0.01)
            return True

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill_after(self, seconds: float) -> threading.Timer:
        """SIGKILL after a delay (a random point of whatever the server is doing then)."""
        timer = threading.Timer(seconds, self.kill)
        timer.daemon = True
        timer.start()
        return timer

    def kill_at_random(self, rng: random.Random, upto: float) -> threading.Timer:
        return self.kill_after(rng.uniform(0, upto))

    def stop(self) -> None:
        self.kill()


# ------------------------------------------------------------------ disks that fail
# Real file-system faults, not mocks: a tmpfs of a few hundred KiB fills up for real, and a
# read-only bind mount refuses writes even to root (chmod would not stop root). Both need
# root (as in CI and here); without it they raise with a message saying so.


@contextlib.contextmanager
def tiny_disk(size_kib: int = 512):
    """A real tmpfs of size_kib KiB mounted on a fresh temp dir; unmounted (lazily) afterwards."""
    mount_point = Path(tempfile.mkdtemp(prefix="rentdesk-tiny-disk-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        mount_point.rmdir()
        raise RuntimeError(f"cannot mount a tmpfs (root needed): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)
        shutil.rmtree(mount_point, ignore_errors=True)


def fill_disk(folder: Path, leave_bytes: int = 0, name: str = "ballast") -> Path:
    """Fill the file system of folder until at most leave_bytes stay free; delete the file to free it."""
    ballast = Path(folder) / name
    with open(ballast, "ab") as file:
        chunk = b"\0" * 4096
        while True:
            free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
            if free <= leave_bytes:
                break
            try:
                file.write(chunk[: max(1, min(len(chunk), free - leave_bytes))])
                file.flush()
            except OSError:  # ENOSPC: as full as it gets
                break
    return ballast


@contextlib.contextmanager
def read_only_view(folder: Path):
    """The same folder seen through a read-only bind mount: every write fails with EROFS, even as root."""
    view = Path(tempfile.mkdtemp(prefix="rentdesk-ro-"))
    for cmd in (["mount", "--bind", str(folder), str(view)], ["mount", "-o", "remount,ro,bind", str(view)]):
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            subprocess.run(["umount", str(view)], capture_output=True)
            view.rmdir()
            raise RuntimeError(f"cannot make a read-only bind mount (root needed): {done.stderr.strip()}")
    try:
        yield view
    finally:
        subprocess.run(["umount", "-l", str(view)], capture_output=True)
        try:
            view.rmdir()
        except OSError:
            pass
