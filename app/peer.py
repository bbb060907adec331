"""Who is at the other end of a loopback connection: the user owning the client's socket (DESIGN §6).

Cookies are not kept apart by port: a browser sends RentDesk's launch cookie to any server on 127.0.0.1,
another user's too, which can then replay it. So the app also asks the kernel whose socket is calling, and
answers only its own user. Linux lists every TCP socket with its owner in /proc/net/tcp; elsewhere the
owner cannot be read this way, and the launch cookie stays the only proof (None: cannot tell).
"""

from __future__ import annotations

import ipaddress
import sys

PROC_TCP = "/proc/net/tcp"
TIME_WAIT = "06"  # a closed connection's leftover: owned by no one (uid 0), never the one calling


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
