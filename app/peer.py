"""Who is at the other end of a loopback connection: the user owning the client's socket (DESIGN §6).

Cookies are not kept apart by port: a browser sends RentDesk's launch cookie to any server on 127.0.0.1,
another user's too, which can then replay it. So the app also asks the kernel whose socket is calling, and
answers only its own user. On Linux the kernel answers for one socket by netlink (sock_diag, what `ss` uses), at
the same cost however many sockets the machine holds; /proc/net/tcp, which lists every TCP socket with its owner,
is the fallback (its reading grows with every socket, a closed connection's leftovers included: 4 ms at 1,400).
Elsewhere the owner cannot be read this way, and the launch cookie stays the only proof (None: cannot tell).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys

PROC_TCP = "/proc/net/tcp"
TIME_WAIT = "06"  # a closed connection's leftover: owned by no one (uid 0), never the one calling

# linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
INET_DIAG_NOCOOKIE = 0xFFFFFFFF
ESTABLISHED_ONLY = 1 << 1  # TCP_ESTABLISHED: the calling connection is open
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
_REQUEST = struct.Struct("=BBBxI")  # inet_diag_req_v2 before its socket id: family, protocol, extensions, states
_SOCKET_ID = struct.Struct(">HH16s16sI")  # inet_diag_sockid: ports and addresses in network order, interface
_COOKIE = struct.Struct("=II")
_UID_AT = _HEADER.size + 4 + 48 + 12  # inet_diag_msg: 4 one-byte fields, the socket id, expires, queues, then uid


def _endpoint(address: str, port: int) -> str | None:
    """An IPv4 address and port as /proc/net/tcp writes them (the address's bytes as a native integer, in hex)."""
    try:
        packed = ipaddress.IPv4Address(address).packed
    except ValueError:
        return None
    return f"{int.from_bytes(packed, sys.byteorder):08X}:{port:04X}"


def can_tell(table: str = PROC_TCP) -> bool:
    """Whether this system says who owns a socket (Linux, with /proc mounted)."""
    try:
        with open(table, encoding="ascii"):
            return True
    except OSError:
        return False


def socket_owner(client: tuple[str, int], server: tuple[str, int], table: str = PROC_TCP) -> int | None:
    """The uid owning the client's end of the TCP connection client → server; None when it is not listed (or
    this system keeps no such table)."""
    try:
        return _asked_by_netlink(client, server)
    except (OSError, ValueError, struct.error):  # no netlink here (another system, a sandbox): read the table
        return _read_from_table(client, server, table)


def _asked_by_netlink(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The kernel's answer for exactly this connection (an exact sock_diag lookup, not a dump of every socket);
    None when it has no such open connection."""
    source, destination = ipaddress.IPv4Address(client[0]).packed, ipaddress.IPv4Address(server[0]).packed
    body = (_REQUEST.pack(socket.AF_INET, socket.IPPROTO_TCP, 0, ESTABLISHED_ONLY)
            + _SOCKET_ID.pack(int(client[1]), int(server[1]), source.ljust(16, b"\0"), destination.ljust(16, b"\0"), 0)
            + _COOKIE.pack(INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE))
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as link:
        link.sendto(_HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0) + body, (0, 0))
        answer = link.recv(8192)
    _length, kind, _flags, _sequence, _port = _HEADER.unpack_from(answer)
    if kind == NLMSG_ERROR:
        (error,) = struct.unpack_from("=i", answer, _HEADER.size)
        if error == 0:
            raise ValueError("sock_diag acknowledged without an answer")
        if -error == 2:  # ENOENT: no such open connection
            return None
        raise OSError(-error, "sock_diag refused the lookup")
    if kind != SOCK_DIAG_BY_FAMILY:
        raise ValueError(f"sock_diag answered an unexpected message ({kind})")
    (uid,) = struct.unpack_from("=I", answer, _UID_AT)
    return uid


def _read_from_table(client: tuple[str, int], server: tuple[str, int], table: str = PROC_TCP) -> int | None:
    local, remote = _endpoint(*client), _endpoint(*server)
    if local is None or remote is None:
        return None
    try:
        with open(table, encoding="ascii") as rows:
            next(rows, None)  # the column names
            for row in rows:
                fields = row.split()
                if len(fields) > 7 and fields[1] == local and fields[2] == remote and fields[3] != TIME_WAIT:
                    return int(fields[7])
    except OSError:
        return None
    return None
