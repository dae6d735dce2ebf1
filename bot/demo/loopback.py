"""A listening socket on a free loopback port, for the servers the demo and the tests start."""

from __future__ import annotations

import socket


def loopback_socket() -> socket.socket:
    """Bound to 127.0.0.1 on a free port.

    The protocol is named (IPPROTO_TCP) because asyncio only turns Nagle's algorithm off on
    connections of sockets that name it; otherwise an answer written in two parts can wait ~40 ms
    for a delayed ACK. A server that uvicorn binds itself never has this problem.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock
