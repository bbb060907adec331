"""Who owns the other end of a loopback connection (app/peer.py, DESIGN §6): the kernel's answer for that one
socket, the same as the full table's, for this user's connection and another local user's."""

from __future__ import annotations

import os
import socket
import sys
import threading

from app import peer
from tests.support.local_user import local_user

CONNECT_AND_WAIT = """
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as s:
    s.recv(1)  # held open until the test has asked who owns it
"""


def listening() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def test_this_users_connection_is_owned_by_this_user_by_netlink_and_by_the_table():
    with listening() as server, socket.create_connection(server.getsockname()) as client:
        accepted, _ = server.accept()
        with accepted:
            ends = (client.getsockname(), server.getsockname())
            assert peer._asked_by_netlink(*ends) == os.geteuid()
            assert peer._read_from_table(*ends) == os.geteuid()
            assert peer.socket_owner(*ends) == os.geteuid()


def test_another_local_users_connection_is_said_to_be_theirs():
    """The attack the peer check stops: another user's program calling the app's port."""
    attacker = local_user()
    owners: list = []
    with listening() as server:
        def answer() -> None:
            accepted, address = server.accept()
            with accepted:
                ends = (address, server.getsockname())
                owners.extend([peer._asked_by_netlink(*ends), peer._read_from_table(*ends), peer.socket_owner(*ends)])
                accepted.sendall(b"x")

        thread = threading.Thread(target=answer)
        thread.start()
        done = attacker.run(sys.executable, "-c", CONNECT_AND_WAIT, str(server.getsockname()[1]))
        thread.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert owners == [attacker.uid] * 3


def test_a_connection_that_is_not_open_has_no_owner():
    with listening() as server:
        assert peer._asked_by_netlink(("127.0.0.1", 9), server.getsockname()) is None
        assert peer.socket_owner(("127.0.0.1", 9), server.getsockname()) is None
