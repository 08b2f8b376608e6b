"""A Twilio-compatible SMS provider on loopback for the tests: a real HTTP server that keeps
what it receives (and can be told to answer slowly, to fail, or to hold a request)."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ACCOUNT = "AC0123456789abcdef0123456789abcdef"
TOKEN = "test-auth-token"
FROM = "+18455550100"


@dataclass(frozen=True)
class Received:
    """One message the provider took: the URL prefix it came to (which worker), To, From, Body."""

    prefix: str
    to: str
    sender: str
    body: str
    at: float


class FakeSmsProvider:
    """``start()`` listens on 127.0.0.1; ``url(prefix)`` is a base URL for the client."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.delay = 0.0
        self.fail_status: int | None = None
        self.on_request: Callable[[Received], None] | None = None
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                parts = self.path.strip("/").split("/")
                expected = f"Basic {base64.b64encode(f'{ACCOUNT}:{TOKEN}'.encode()).decode()}"
                if parts[-4:] != ["2010-04-01", "Accounts", ACCOUNT, "Messages.json"]:
                    self._answer(404, {"message": "not found"})
                    return
                if self.headers.get("Authorization") != expected:
                    self._answer(401, {"message": "Authenticate"})
                    return
                size = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(size).decode("utf-8"))
                if provider.fail_status is not None:
                    self._answer(provider.fail_status, {"message": "refused"})
                    return
                prefix = "/".join(parts[:-4])
                got = Received(prefix, form["To"][0], form["From"][0], form["Body"][0], time.monotonic())
                with provider.lock:
                    provider.messages.append(got)
                if provider.on_request is not None:
                    provider.on_request(got)
                if provider.delay:
                    time.sleep(provider.delay)
                self._answer(201, {"sid": f"SM{uuid.uuid4().hex}", "status": "queued", "to": got.to})

            def _answer(self, status: int, payload: dict[str, object]) -> None:
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client went away (a killed worker)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, prefix: str = "") -> str:
        return f"http://127.0.0.1:{self.port}" + (f"/{prefix}" if prefix else "")

    def start(self) -> FakeSmsProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies_to(self, number: str) -> list[str]:
        with self.lock:
            return [m.body for m in self.messages if m.to == number]
