"""Reports and analytics over the ledger and the records (the read side).

``REPORTS`` maps each report's name (as the CLI and the web pages use it) to its builder:
``build(engine, ReportQuery, progress=None) -> report``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

import therabill.adapters.db.report_indexes  # noqa: F401 - the report indexes join the metadata
from therabill.domain.errors import Problem
from therabill.reports import aging, authorizations, denials, outcomes, revenue, trends, what_if
from therabill.reports.common import Progress, Report, ReportError, ReportQuery, Table

Builder = Callable[..., Any]

REPORTS: dict[str, tuple[str, Builder]] = {
    "revenue": ("Revenue", revenue.build),
    "trends": ("Billing trends", trends.build),
    "denials": ("Denials", denials.build),
    "aging": ("A/R aging", aging.build),
    "authorizations": ("Authorizations", authorizations.build),
    "what-if": ("Payer-method what-if", what_if.build),
    "outcomes": ("Patient outcomes", outcomes.build),
}
"""Report name → (title, builder)."""


def build_report(name: str, engine: Engine, query: ReportQuery, progress: Progress | None = None) -> Report:
    """Build the report ``name`` (``ReportError`` for an unknown name)."""
    if name not in REPORTS:
        raise ReportError(
            f"no report {name!r}",
            (Problem("report-unknown", "name", f"choose one of {', '.join(REPORTS)}"),),
        )
    report: Report = REPORTS[name][1](engine, query, progress)
    return report


__all__ = ["REPORTS", "Report", "ReportError", "ReportQuery", "Table", "build_report"]
