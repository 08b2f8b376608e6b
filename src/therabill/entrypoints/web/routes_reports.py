"""Report pages: ``/reports`` (the list), ``/reports/{name}`` (charts and tables) and
``/reports/{name}.csv`` (the CSV export). Every page needs ``reports.read``; pages that name
patients (aging, authorizations, outcomes) are written to the audit log."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from therabill.domain.errors import TherabillError
from therabill.entrypoints.http.audit import audit_event
from therabill.entrypoints.http.deps import requires, state
from therabill.entrypoints.http.errors import ApiError, not_found
from therabill.entrypoints.web.pages import actor, render, today
from therabill.reports import REPORTS, ReportQuery, build_report
from therabill.reports.common import parse_day
from therabill.reports.export import cell_text, table_html, to_csv
from therabill.security.permissions import Permission
from therabill.service_layer.accounts import Principal
from therabill.service_layer.practice import payer_names

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(requires(Permission.REPORTS_READ))]
PHI_REPORTS = frozenset({"aging", "authorizations", "outcomes"})


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return parse_day(value)
    except ValueError:
        raise ApiError(422, "invalid-input", f"{name} must be YYYY-MM-DD") from None


def _query(request: Request, principal: Principal) -> ReportQuery:
    p = request.query_params
    payer = p.get("payer") or None
    try:
        return ReportQuery(
            principal.practice_id,
            _day(p.get("from"), "from"),
            _day(p.get("to"), "to"),
            payer,
            _day(p.get("as_of"), "as_of") or today(request),
            p.get("patient") or None,
        )
    except TherabillError as exc:
        raise ApiError(422, "invalid-input", str(exc)) from None


def _build(request: Request, principal: Principal, name: str) -> Any:
    if name not in REPORTS:
        raise not_found("report")
    query = _query(request, principal)
    try:
        report = build_report(name, state(request).engine, query)
    except TherabillError as exc:
        raise ApiError(422, "invalid-input", str(exc)) from None
    if name in PHI_REPORTS:
        audit_event(request, principal, f"report.{name}", "practice", principal.practice_id)
    return report


@router.get("/reports", response_class=HTMLResponse)
def reports_index(request: Request, principal: Reader) -> HTMLResponse:
    """The list of reports."""
    return render(request, "reports/index.html", {"user": principal, "reports": REPORTS})


@router.get("/reports/{name}.csv")
def report_csv(request: Request, name: str, principal: Reader) -> Response:
    """A report as CSV."""
    report = _build(request, principal, name)
    return Response(
        to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="therabill-{name}.csv"'},
    )


@router.get("/reports/{name}", response_class=HTMLResponse)
def report_page(request: Request, name: str, principal: Reader) -> HTMLResponse:
    """A report: its notes, charts (SVG) and tables."""
    report = _build(request, principal, name)
    payer_list = payer_names(state(request).engine, principal.practice_id, actor(principal))
    return render(
        request,
        "reports/report.html",
        {
            "user": principal,
            "name": name,
            "report": report,
            "reports": REPORTS,
            "payers": payer_list,
            "params": dict(request.query_params),
            "charts": [Markup(svg) for svg in report.charts()],  # noqa: S704 - built by reports.charts, every text escaped
            "tables": [Markup(table_html(t)) for t in report.tables()],  # noqa: S704 - escaped by table_html
            "csv_query": str(request.url.query),
            "cell": cell_text,
        },
    )
