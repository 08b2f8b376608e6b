"""``therabill report NAME``: the reports on the terminal, as CSV and as standalone HTML."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.common import JsonOption, fail, fail_from, print_json, stderr, stdout
from therabill.reports import REPORTS, ReportQuery, build_report
from therabill.reports.common import parse_day, resolve_payer
from therabill.reports.export import cell_text, to_csv, to_html

LONG_RANGE_DAYS = 92
"""Ranges longer than this (or open ranges) show progress on stderr."""


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return parse_day(text)
    except ValueError:
        fail(f"{option} must be YYYY-MM-DD")


def report_command(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(REPORTS)}.")],
    date_from: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day (YYYY-MM-DD).")] = None,
    payer: Annotated[
        str | None, typer.Option("--payer", help="Only this payer (id, payer id or name).")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day balances and ages are taken on.")] = None,
    patient: Annotated[str | None, typer.Option("--patient", help="Outcomes of one patient (id).")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write the tables as CSV.")] = None,
    html_file: Annotated[Path | None, typer.Option("--html", help="Write a standalone HTML page.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Do not print the tables.")] = False,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a report (revenue, trends, denials, aging, authorizations, what-if, outcomes)."""
    if name not in REPORTS:
        fail(f"no report {name!r}; choose one of {', '.join(REPORTS)}")
    try:
        engine, practice_id = open_practice(practice)
        query = ReportQuery(
            practice_id,
            _day(date_from, "--from"),
            _day(date_to, "--to"),
            resolve_payer(engine, practice_id, payer),
            _day(as_of, "--as-of"),
            patient,
        )
        span = query.span_days()
        if span == 0 or span > LONG_RANGE_DAYS:
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=stderr,
                transient=True,
            ) as bar:
                task = bar.add_task(f"{name}: starting", total=None)
                report = build_report(
                    name, engine, query, lambda s: bar.update(task, description=f"{name}: {s}")
                )
        else:
            report = build_report(name, engine, query)
    except TherabillError as exc:
        fail_from(exc)
    try:
        if csv_file is not None:
            csv_file.write_text(to_csv(report), encoding="utf-8")
        if html_file is not None:
            html_file.write_text(to_html(report), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write the export: {exc.strerror}")
    if quiet:
        return
    if as_json:
        print_json(
            {
                "report": name,
                "title": report.title,
                "query": query.describe(),
                "notes": list(report.notes),
                "tables": [
                    {
                        "title": t.title,
                        "columns": list(t.columns),
                        "rows": [[cell_text(c) for c in r] for r in t.rows],
                    }
                    for t in report.tables()
                ],
            }
        )
        return
    stdout.print(f"[bold]{report.title}[/] · {query.describe()}")
    for note in report.notes:
        stdout.print(f"[dim]• {note}[/]")
    for t in report.tables():
        table = RichTable(title=t.title, title_justify="left", show_lines=False)
        for col in t.columns:
            table.add_column(col, overflow="fold")
        for row in t.rows:
            table.add_row(
                *(cell_text(c) for c in row), style="bold" if t.total_row and row[0] == "Total" else None
            )
        stdout.print(table)
