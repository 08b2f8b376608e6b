"""The server's connections run with Nagle's algorithm off, also behind a shared listening socket.

uvicorn's multi-worker mode hands each worker a listening socket made with protocol number 0;
asyncio then leaves Nagle on for every accepted connection, and kept-alive requests waited
for the client's delayed ACK. These tests serve through such a socket and read the option
off the server's side of the connection.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from therabill.entrypoints.cli import serve
from therabill.entrypoints.cli.http_protocol import set_nodelay
from therabill.entrypoints.cli.serve import HTTP_PROTOCOL


def _listener() -> socket.socket:
    """A listening socket made as uvicorn makes the one its workers share (protocol 0)."""
    sock = socket.socket(family=socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def _nodelay(sock: socket.socket) -> bool:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_set_nodelay_turns_nagle_off_where_asyncio_does_not() -> None:
    accepted: list[asyncio.BaseTransport] = []

    class Keep(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.append(transport)

    async def scenario() -> tuple[bool, bool]:
        listener = _listener()
        server = await asyncio.get_running_loop().create_server(Keep, sock=listener)
        _reader, writer = await asyncio.open_connection(*listener.getsockname())
        for _ in range(100):
            if accepted:
                break
            await asyncio.sleep(0.01)
        sock = accepted[0].get_extra_info("socket")
        before = _nodelay(sock)
        set_nodelay(accepted[0])
        after = _nodelay(sock)
        writer.close()
        server.close()
        await server.wait_closed()
        return before, after

    found: list[tuple[bool, bool]] = []
    # A thread of its own: another test in this worker may have left an event loop running here.
    runner = threading.Thread(target=lambda: found.append(asyncio.run(scenario())))
    runner.start()
    runner.join(timeout=30)
    ((before, after),) = found
    assert before is False  # the precondition: asyncio left Nagle on for a protocol-0 listener
    assert after is True


async def _app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_served_connections_have_nodelay_behind_a_shared_socket() -> None:
    listener = _listener()
    config = uvicorn.Config(_app, http=HTTP_PROTOCOL, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        host, port = listener.getsockname()
        with httpx.Client(base_url=f"http://{host}:{port}") as client:
            for _ in range(200):
                if server.started:
                    break
                time.sleep(0.02)
            assert client.get("/").text == "ok"
            assert client.get("/").text == "ok"  # the same kept-alive connection
            open_connections = list(server.server_state.connections)
            assert len(open_connections) == 1
            protocol = open_connections[0]
            assert type(protocol).__name__ == "NoDelayHttpToolsProtocol"
            assert _nodelay(protocol.transport.get_extra_info("socket"))  # type: ignore[attr-defined]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def test_serve_runs_uvicorn_with_the_protocol_and_keep_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    serve._serve("127.0.0.1", 8123, 2, None)
    assert seen["http"] == HTTP_PROTOCOL and seen["workers"] == 2
    assert seen["loop"] == serve.EVENT_LOOP == "uvloop"
    assert seen["timeout_keep_alive"] == serve.KEEP_ALIVE_S
    assert seen["app"] == "therabill.entrypoints.cli.serve:app_from_environment"
