"""What every API list shares: strict query strings, cursors, readable operation ids.

- ``no_unknown_query``: a router dependency that answers 422 ``query-unknown`` for a query
  parameter the route does not declare (``/claims?patient_id=x`` used to answer every claim).
- ``encode_cursor`` / ``decode_cursor``: an opaque cursor of a list's sort key; a list answers
  its next cursor in the ``X-Next-Cursor`` header and a ``Link: <...>; rel="next"`` header,
  and the body stays a plain list.
- ``operation_id``: OpenAPI operation ids made of the route function's name
  (``list_claims``), not of the path.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from therabill.domain.errors import Problem
from therabill.entrypoints.http.errors import ApiError

__all__ = ["decode_cursor", "encode_cursor", "no_unknown_query", "operation_id", "set_next_cursor"]

_KNOWN: dict[int, frozenset[str]] = {}


def _declared(route: APIRoute) -> frozenset[str]:
    found = _KNOWN.get(id(route))
    if found is None:
        names: set[str] = set()
        todo: list[Dependant] = [route.dependant]
        while todo:
            current = todo.pop()
            names.update(p.alias for p in current.query_params)
            todo.extend(current.dependencies)
        found = frozenset(names)
        _KNOWN[id(route)] = found
    return found


async def no_unknown_query(request: Request) -> None:
    """Refuse a query parameter the route does not declare (422, each one named).

    A coroutine, though it awaits nothing: FastAPI runs a plain function dependency in its
    thread pool, a hand-off that costs more than this check.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _declared(route))
    if unknown:
        raise ApiError(
            422,
            "query-unknown",
            "the request has query parameters this endpoint does not take",
            [
                Problem("query-unknown", f"query.{name}"[:60], "is not a parameter of this endpoint")
                for name in unknown
            ],
        )


def encode_cursor(key: list[Any]) -> str:
    """An opaque cursor for the sort key of the last row of a page."""
    raw = json.dumps(key, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The sort key a cursor holds (``None`` for the first page); 422 when it is not one of ours."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        key = None
    if not isinstance(key, list) or not key or len(key) > 4:
        raise ApiError(
            422,
            "cursor-invalid",
            "the cursor is not valid",
            [Problem("cursor-invalid", "query.cursor", "not a cursor this list gave")],
        )
    return key


def set_next_cursor(request: Request, response: Response, cursor: str | None) -> None:
    """Tell the client where the next page starts (no header on the last page)."""
    if cursor is None:
        return
    response.headers["X-Next-Cursor"] = cursor
    url = request.url.include_query_params(cursor=cursor)
    response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'


def operation_id(route: APIRoute) -> str:
    """The route function's name as its OpenAPI operation id."""
    return route.name
