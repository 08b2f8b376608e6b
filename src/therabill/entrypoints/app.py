"""The app factory: ``create_app(settings)`` puts the web pages and the REST API (``/api/v1``)
together into one FastAPI app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from therabill import __version__, config
from therabill import clock as clock_mod
from therabill.entrypoints.api.routes import (
    accounts_api,
    billing_api,
    booking_api,
    claims_api,
    coding,
    intake_api,
    interop_api,
    messages_api,
    money_api,
    records_api,
    schedule_api,
)
from therabill.entrypoints.clock import system_clock
from therabill.entrypoints.http import errors
from therabill.entrypoints.http.deps import AppState
from therabill.entrypoints.http.limits import BodyLimit, ErrorShield
from therabill.entrypoints.http.query import no_unknown_query
from therabill.entrypoints.http.settings import Settings
from therabill.entrypoints.web import (
    billing,
    filters,
    intake_pages,
    pages,
    routes_auth,
    routes_booking,
    routes_calendar,
    routes_eligibility,
    routes_frontdesk,
    routes_lifecycle,
    routes_messages,
    routes_money,
    routes_portal,
    routes_reminders,
    routes_reports,
    routes_settings,
)
from therabill.entrypoints.web.routes_settings import MAX_REFDATA_BYTES
from therabill.schemas.encounter import EncounterDocument, UnitsDocument
from therabill.security.headers import SecurityHeaders
from therabill.service_layer.database import open_database

WEB = Path(__file__).resolve().parent / "web"
STRICT_QUERY = [Depends(no_unknown_query)]
"""Every API route answers 422 to a query parameter it does not take (the records routers
declare it themselves)."""

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


class InstallContext:
    """ASGI middleware: every request runs with the app's clock (``therabill.clock``) and its
    installation settings (``therabill.config``) in force."""

    def __init__(self, app: ASGIApp, clock: clock_mod.Clock, installation: config.Installation) -> None:
        self.app = app
        self.clock = clock
        self.installation = installation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with clock_mod.using(self.clock), config.using(self.installation):
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
        data_dir=settings.installation().data_path(),
        trusted_proxies=settings.proxies(),
    )
    app.state.settings = settings
    templates = Jinja2Templates(directory=str(WEB / "templates"))
    # Templates ship with the package: each is compiled once per process and then served from
    # the cache, without a look at the file on every render.
    templates.env.auto_reload = False
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
    app.add_middleware(InstallContext, clock=the_clock, installation=settings.installation())
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")
    app.include_router(routes_auth.router)
    app.include_router(routes_frontdesk.router)  # before pages: /patients/new is not a patient id
    app.include_router(pages.router)
    app.include_router(intake_pages.router)
    app.include_router(billing.router)
    app.include_router(coding.router, dependencies=STRICT_QUERY)
    app.include_router(accounts_api.router, dependencies=STRICT_QUERY)
    app.include_router(records_api.router)
    app.include_router(billing_api.router)
    app.include_router(intake_api.router, dependencies=STRICT_QUERY)
    app.include_router(interop_api.router, dependencies=STRICT_QUERY)
    app.include_router(routes_reports.router)
    routes_settings.install(app)
    app.include_router(routes_eligibility.router)
    app.include_router(schedule_api.router, dependencies=STRICT_QUERY)
    app.include_router(money_api.router, dependencies=STRICT_QUERY)
    app.include_router(routes_money.router)
    app.include_router(routes_calendar.router)
    app.include_router(routes_lifecycle.router)
    app.include_router(claims_api.router, dependencies=STRICT_QUERY)
    app.include_router(booking_api.router, dependencies=STRICT_QUERY)
    app.include_router(routes_booking.router)
    routes_portal.install(app)
    app.include_router(routes_reminders.router)
    app.include_router(messages_api.router, dependencies=STRICT_QUERY)
    app.include_router(routes_messages.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
