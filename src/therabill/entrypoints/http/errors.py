"""The one error shape of the API, with stable codes, and the handlers that produce it.

``{"error": {"code": "not-found", "message": "...", "problems": [{"code", "loc", "message"}]}}``.
No stack trace or internal detail ever reaches a client (ASVS 16.5.1). An exception none of
these handlers takes becomes a 500 with an error id in ``limits.ErrorShield``, which logs
the id and the exception's type only (never its message, traceback or SQL parameters).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.money import MoneyError
from therabill.schemas.encounter import DocumentError, format_loc

log = logging.getLogger("therabill.web")

_STATUS_CODES = {
    400: "bad-request",
    401: "not-authenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "too-many-requests",
    503: "not-available",
}


class ApiError(Exception):
    """An error answered in the one error shape."""

    def __init__(self, status: int, code: str, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.problems = tuple(problems)


class LoginRequiredError(ApiError):
    """No valid session or token: the API answers 401, pages redirect to the log-in page."""

    def __init__(self) -> None:
        super().__init__(401, "not-authenticated", "log in or give a valid API token")


def not_found(what: str = "object") -> ApiError:
    """The 404 for a missing object, or one of another practice (the same answer for both)."""
    return ApiError(404, "not-found", f"no such {what}")


def error_body(code: str, message: str, problems: Iterable[Problem] = ()) -> dict[str, object]:
    """The error shape."""
    return {
        "error": {
            "code": code,
            "message": message,
            "problems": [{"code": p.code, "loc": p.loc, "message": p.message} for p in problems],
        }
    }


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _respond(
    request: Request, status: int, code: str, message: str, problems: Iterable[Problem] = ()
) -> Response:
    problems = tuple(problems)
    if _is_page(request):
        if status == 401:
            return RedirectResponse("/login", status_code=303)
        templates = request.app.state.templates
        page: Response = templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "code": code, "message": message, "problems": problems, "user": None},
            status_code=status,
        )
        return page
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(code, message, problems), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return _respond(request, exc.status, exc.code, exc.message, exc.problems)

    @app.exception_handler(DocumentError)
    async def _document_error(request: Request, exc: DocumentError) -> Response:
        return _respond(request, 422, "invalid-document", "the document breaks the schema", exc.problems)

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, _exc: NotFoundError) -> Response:
        return _respond(request, 404, "not-found", "no such object")

    @app.exception_handler(MoneyError)
    async def _money_error(request: Request, exc: MoneyError) -> Response:
        problem = Problem("money-invalid", "amount", str(exc)[:200])
        return _respond(request, 422, "money-invalid", "an amount is not valid", (problem,))

    @app.exception_handler(TherabillError)
    async def _therabill_error(request: Request, exc: TherabillError) -> Response:
        return _respond(request, 422, exc.code, str(exc), exc.problems)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            Problem(
                f"schema-{str(e.get('type', 'invalid')).replace('_', '-')}",
                format_loc(e.get("loc", ())),
                str(e.get("msg", "")),
            )
            for e in exc.errors()
        ]
        return _respond(request, 422, "invalid-input", "the request is not valid", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        return _respond(request, exc.status_code, code, message)
