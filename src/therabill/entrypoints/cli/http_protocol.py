"""The HTTP protocol the server runs: uvicorn's httptools protocol with ``TCP_NODELAY`` on every
connection.

httptools parses requests in C (llhttp); uvicorn's other protocol, h11, parses and writes
each request and response in Python, a fixed cost of every request that the app does not see.

asyncio turns Nagle's algorithm off only for sockets whose protocol number is TCP; the
listening socket that uvicorn shares between worker processes is made with protocol 0, so
with ``--workers 2`` or more every accepted connection kept Nagle on. A response goes out
as two writes (head, then body), and on a kept-alive connection the second write waited
for the client's delayed ACK: about 40 ms added to every request after the first.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["NoDelayHttpToolsProtocol", "set_nodelay"]


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off on the transport's socket when it is a TCP socket."""
    sock = transport.get_extra_info("socket")
    if (
        sock is not None
        and sock.family in (socket.AF_INET, socket.AF_INET6)
        and sock.type == socket.SOCK_STREAM
    ):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with ``TCP_NODELAY`` set when a connection is made."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)
