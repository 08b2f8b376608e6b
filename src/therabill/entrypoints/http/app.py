"""The app factory: ``create_app(settings)`` builds the FastAPI app (pages and ``/api/v1``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from therabill import __version__, config
from therabill import clock as clock_mod
from therabill.entrypoints.clock import system_clock
from therabill.entrypoints.http import errors
from therabill.entrypoints.http.deps import AppState
from therabill.entrypoints.http.limits import BodyLimit, ErrorShield
from therabill.entrypoints.http.settings import Settings
from therabill.entrypoints.web import filters
from therabill.schemas.encounter import EncounterDocument, UnitsDocument
from therabill.security.headers import SecurityHeaders
from therabill.service_layer.database import open_database

WEB = Path(__file__).resolve().parents[1] / "web"

DESCRIPTION = """\
The therabill REST API. Authenticate with a per-user API token (`Authorization: Bearer tb_...`),
created on the Account page or with `POST /api/v1/tokens`; each token carries scopes, which
are permission names, and acts within its user's practice and role. Errors always have the
shape `{"error": {"code", "message", "problems": [{"code", "loc", "message"}]}}`.
"""


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {})
    comps = components.setdefault("schemas", {})
    for model in (EncounterDocument, UnitsDocument):
        js = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
        comps.update(js.pop("$defs", {}))
        comps[js.get("title", model.__name__)] = js
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    schema["security"] = [{"bearer": []}]
    app.openapi_schema = schema
    return schema


class InstallClock:
    """ASGI middleware: every request runs with the app's clock installed (``therabill.clock``)."""

    def __init__(self, app: ASGIApp, clock: clock_mod.Clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with clock_mod.using(self.clock):
            await self.app(scope, receive, send)


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, clock: clock_mod.Clock | None = None
) -> FastAPI:
    """Build the app.

    Args:
        settings: the settings (default: from ``THERABILL_*`` environment variables).
        engine: an engine to use instead of one made from the settings' database URL.
        clock: the clock (UTC; a naive value is read as UTC), installed for every request;
            default: the clock the process installed, else the system clock. Tests inject
            one to move time.
    """
    from therabill.entrypoints.api.routes import accounts_api, coding, records_api
    from therabill.entrypoints.web import billing, pages, routes_auth
    from therabill.entrypoints.web.routes_settings import MAX_REFDATA_BYTES

    settings = settings or Settings()
    the_clock = clock or clock_mod.installed() or system_clock
    app = FastAPI(
        title="therabill",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.tb = AppState(
        engine=engine or open_database(settings.url()),
        clock=the_clock,
        policy=settings.policy(),
        secure_cookies=settings.secure_cookies,
        max_upload_bytes=settings.max_upload_bytes,
        data_dir=config.data_dir(settings.data_dir),
        trusted_proxies=settings.proxies(),
    )
    app.state.settings = settings
    templates = Jinja2Templates(directory=str(WEB / "templates"))
    filters.install(templates.env)
    app.state.templates = templates
    errors.install(app)
    # Outermost last: headers on every answer, then body limits, then the error shield.
    app.add_middleware(ErrorShield)
    app.add_middleware(
        BodyLimit,
        body_bytes=settings.max_body_bytes,
        upload_bytes=settings.max_upload_bytes + 64 * 1024,
        large_paths={"/settings/refdata/": MAX_REFDATA_BYTES + 1024 * 1024},
    )
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
    app.add_middleware(InstallClock, clock=the_clock)
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")
    app.include_router(routes_auth.router)
    app.include_router(pages.router)
    app.include_router(billing.router)
    app.include_router(coding.router)
    app.include_router(accounts_api.router)
    app.include_router(records_api.router)
    from therabill.entrypoints.api.routes import intake_api

    app.include_router(intake_api.router)
    from therabill.entrypoints.api.routes import interop_api

    app.include_router(interop_api.router)
    from therabill.entrypoints.web import routes_reports

    app.include_router(routes_reports.router)
    from therabill.entrypoints.web import routes_eligibility, routes_settings

    routes_settings.install(app)
    app.include_router(routes_eligibility.router)
    from therabill.entrypoints.api.routes import schedule_api

    app.include_router(schedule_api.router)
    from therabill.entrypoints.web import routes_calendar

    app.include_router(routes_calendar.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
