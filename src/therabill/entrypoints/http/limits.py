"""ASGI guards in front of every route: body size and JSON depth before anything reads the
body, and one place where an unexpected error becomes an error id.

``BodyLimit`` refuses a request whose ``Content-Length`` is over its limit before reading a
byte, and counts the bytes of every other request as they stream in (chunked bodies have no
length), answering 413 as soon as the count passes the limit; the route then sees a
disconnected client and stops. Limits: a request that presents no credential (no session
cookie, no ``Authorization``) may send ``anonymous_bytes`` (the log-in form is small); JSON
and forms ``body_bytes``; files (``multipart/form-data``, X12 and other raw uploads)
``upload_bytes``; paths listed in ``large_paths`` their own limit (reference-data imports,
spooled to disk). A JSON body nested deeper than ``max_json_depth`` is refused with 422
before it is parsed, so no parser or validator recurses on it.

``ErrorShield`` catches what no handler caught: it logs the exception's type, the route and a
random error id (never the message, the traceback or SQL parameters: they may hold PHI) and
answers 500 with that id, which the user can quote.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("therabill.web")

MAX_JSON_DEPTH = 64
"""How deeply JSON arrays and objects may nest (encounter documents need fewer than 10)."""


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings are skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _error(code: str, message: str, error_id: str | None = None) -> bytes:
    body: dict[str, object] = {"code": code, "message": message, "problems": []}
    if error_id:
        body["error_id"] = error_id
    return json.dumps({"error": body}).encode()


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware limiting request bodies before they are read (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        body_bytes: int,
        upload_bytes: int,
        anonymous_bytes: int = 64 * 1024,
        large_paths: Mapping[str, int] | None = None,
        max_json_depth: int = MAX_JSON_DEPTH,
    ) -> None:
        self.app = app
        self.body_bytes = body_bytes
        self.upload_bytes = upload_bytes
        self.anonymous_bytes = anonymous_bytes
        self.large_paths = dict(large_paths or {})
        self.max_json_depth = max_json_depth

    def _limit(self, scope: Scope, headers: dict[bytes, bytes]) -> int:
        if b"authorization" not in headers and b"tb_session=" not in headers.get(b"cookie", b""):
            return self.anonymous_bytes
        path = str(scope.get("path", ""))
        for prefix, limit in self.large_paths.items():
            if path.startswith(prefix):
                return limit
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind in (b"application/json", b"application/x-www-form-urlencoded", b""):
            return self.body_bytes
        return self.upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        limit = self._limit(scope, headers)
        declared = headers.get(b"content-length", b"").strip()
        too_large = _error("too-large", f"the request body is larger than {limit} bytes")
        if declared and (not declared.isdigit() or int(declared) > limit):
            await _answer(send, 413, too_large)
            return
        is_json = headers.get(b"content-type", b"").split(b";")[0].strip().lower().endswith(b"json")
        if is_json:
            await self._json(scope, receive, send, limit, too_large)
            return
        received = 0
        refused = False
        started = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _answer(send, 413, too_large)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except ClientDisconnect:
            if not refused:
                raise

    async def _json(self, scope: Scope, receive: Receive, send: Send, limit: int, too_large: bytes) -> None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _answer(send, 413, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_depth(body) > self.max_json_depth:
            why = f"the JSON is nested deeper than {self.max_json_depth} levels"
            await _answer(send, 422, _error("json-too-deep", why))
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class ErrorShield:
    """ASGI middleware: an exception no handler caught becomes a 500 with an error id (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except ClientDisconnect:
            return  # the client is gone (or its body was cut off by ``BodyLimit``): nobody to answer
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            error_id = secrets.token_hex(6)
            route = scope.get("route")
            path = str(getattr(route, "path", "")) or "(no route)"
            log.error("error %s: %s on %s %s", error_id, type(exc).__name__, scope.get("method", ""), path)
            if started:
                return
            message = f"something went wrong; quote error {error_id} when you report it"
            if str(scope.get("path", "")).startswith("/api/"):
                await _answer(send, 500, _error("internal-error", message, error_id))
                return
            html = (
                "<!doctype html><html lang=en><meta charset=utf-8><title>Error</title>"
                f"<h1>Something went wrong</h1><p>{message}.</p><p><a href=/>Home</a></p></html>"
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"content-length", str(len(html)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": html})
