"""Dependencies every route uses: the database connection, the caller, permissions and CSRF.

Each route declares exactly one of ``requires(Permission.X)`` or ``public()``; the marker is
read back from the route table by ``route_permissions(app)`` (and a test fails for a route
without one). Browser sessions must send the CSRF token on every unsafe request (form field
``csrf_token`` or header ``X-CSRF-Token``); API tokens (``Authorization: Bearer``) need none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from sqlalchemy import Connection, Engine

from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.clock import Clock, naive_utc
from therabill.entrypoints.http import audit
from therabill.entrypoints.http.errors import ApiError, LoginRequiredError
from therabill.security.permissions import Permission, allowed
from therabill.security.tokens import same
from therabill.service_layer import batches, sessions
from therabill.service_layer.accounts import Principal, SessionPolicy

SESSION_COOKIE = "tb_session"
PRE_CSRF_COOKIE = "tb_csrf"
PUBLIC = "public"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class AppState:
    """What the app factory sets up once: the engine, the clock and the policy.

    ``clock`` is installed (``therabill.clock``) for every request, so the use cases a route
    calls read the same time as the route.
    """

    engine: Engine
    clock: Clock
    policy: SessionPolicy
    secure_cookies: bool
    max_upload_bytes: int
    data_dir: Path

    def envelope(self) -> EnvelopeSettings:
        """The practice's X12 envelope settings (``[x12]`` of the data folder's clearinghouse.toml)."""
        return batches.practice_envelope(self.data_dir)

    def now(self) -> datetime:
        """The current time by the app's clock, naive UTC (as sessions and tokens store it)."""
        return naive_utc(self.clock())

    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()


def state(request: Request) -> AppState:
    """The app's shared state."""
    value: AppState = request.app.state.tb
    return value


def now(request: Request) -> datetime:
    """The current time from the app's clock (naive UTC)."""
    return state(request).now()


def get_conn(request: Request) -> Iterator[Connection]:
    """A connection in a transaction: committed when the route returns, rolled back on error."""
    with state(request).engine.begin() as conn:
        yield conn


Conn = Annotated[Connection, Depends(get_conn)]


def _trusted(address: str, proxies: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_ip(request: Request) -> str:
    """The client's address (for throttling and the audit log).

    The peer address, unless the peer is a trusted proxy (``THERABILL_TRUSTED_PROXIES``):
    then ``X-Forwarded-For`` is read from the right, skipping trusted proxies, and the first
    other address is the client. A header from any other peer is ignored (it is forgeable),
    and so is a value that is not an IP address.
    """
    peer = request.client.host if request.client else "unknown"
    proxies = state(request).trusted_proxies
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if _trusted(hop, proxies):
            continue
        try:
            return str(ip_address(hop))
        except ValueError:
            return peer
    return peer


def _principal(request: Request) -> Principal:
    """Resolve the caller from a Bearer token or the session cookie (``sessions.caller``)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    st = state(request)
    at = st.now()
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    token = token.strip() if auth else request.cookies.get(SESSION_COOKIE, "")
    if auth and scheme.lower() != "bearer":
        token = ""
    principal = sessions.caller(st.engine, token, at, st.policy, bearer=bool(auth)) if token else None
    if principal is None:
        raise LoginRequiredError()
    request.state.principal = principal
    return principal


async def check_csrf(request: Request, expected: str) -> None:
    """Refuse an unsafe request whose CSRF token is missing or wrong (403)."""
    if request.method not in _UNSAFE:
        return
    sent = request.headers.get("x-csrf-token", "")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token", "")
            sent = value if isinstance(value, str) else ""
    if not expected or not sent or not same(sent, expected):
        raise ApiError(
            403, "csrf-failed", "the form expired or did not come from this site; reload and retry"
        )


def requires(permission: Permission) -> Callable[..., Any]:
    """A dependency that admits callers whose role (and token scopes) grant ``permission``."""

    async def _dependency(request: Request) -> Principal:
        principal = _principal(request)
        if principal.scopes is None:
            await check_csrf(request, principal.csrf_token)
        if not allowed(principal.role, permission, principal.scopes):
            _audit_denial(request, principal, permission)
            raise ApiError(403, "forbidden", f"your role may not do this ({permission.value})")
        return principal

    _dependency.__therabill_permission__ = permission.value  # type: ignore[attr-defined]
    _dependency.__name__ = f"requires_{permission.name.lower()}"
    return _dependency


def public() -> Callable[..., Any]:
    """A dependency that marks a route as open to anyone (log-in page, health, static)."""

    async def _dependency() -> None:
        return None

    _dependency.__therabill_permission__ = PUBLIC  # type: ignore[attr-defined]
    return _dependency


def _audit_denial(request: Request, principal: Principal, permission: Permission) -> None:
    route = request.scope.get("route")
    path = str(getattr(route, "path", "")) or request.url.path
    with state(request).engine.begin() as conn:
        audit.record(
            conn,
            principal,
            action="deny",
            object_type="route",
            object_id=None,
            outcome=f"denied:{permission.value}",
            details={"route": f"{request.method} {path}"},
            ip=client_ip(request),
            at=state(request).now(),
        )


def _markers(dependant: Any) -> list[str]:
    found = []
    for dep in dependant.dependencies:
        marker = getattr(dep.call, "__therabill_permission__", None)
        if marker is not None:
            found.append(marker)
        found += _markers(dep)
    return found


def _api_routes(routes: Any) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # routers included lazily
        if included is not None:
            yield from _api_routes(included.routes)


def route_permissions(app: FastAPI) -> dict[tuple[str, str], list[str]]:
    """Every API route ``(method, path)`` with the permission markers it declares."""
    out: dict[tuple[str, str], list[str]] = {}
    for route in _api_routes(app.routes):
        for method in sorted(route.methods or ()):
            out[(method, route.path)] = _markers(route.dependant)
    return out
