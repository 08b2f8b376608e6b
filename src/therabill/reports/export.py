"""Report exports: CSV (every table, one after the other) and a standalone HTML page.

CSV: for each table a line ``# <table title>``, its header row, its rows and a blank line;
money as plain decimals (``1234.50``), dates ISO. HTML: one file with its own CSS and the
charts inline (SVG), readable offline and printable.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from html import escape

from therabill.reports.common import Cell, Report, Table
from therabill.security.csvcell import safe_row

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2530; margin: 1.2rem; background: #f6f8fa; }
h1 { font-size: 1.5rem; margin: 0 0 .2rem; } h2 { font-size: 1.1rem; margin: 1rem 0 .4rem; }
.muted { color: #5b6675; } .notes { margin: .5rem 0 1rem; padding-left: 1.2rem; color: #3b4653; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; } .charts svg { max-width: 100%; height: auto; border: 1px solid #d5dbe3; border-radius: 6px; background: #fff; }
table { border-collapse: collapse; background: #fff; margin-bottom: 1rem; min-width: 40%; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #d5dbe3; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; border-top: 2px solid #8a96a3; }
"""


def cell_text(value: Cell | object) -> str:
    """A cell as text: money with two decimals, dates ISO, ``None`` empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(report: Report) -> str:
    """The report's tables as CSV text."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([f"# {report.title}: {report.query.describe()}"])
    for t in report.tables():
        w.writerow([f"# {t.title}"])
        w.writerow(safe_row(t.columns))
        for row in t.rows:
            w.writerow(safe_row(cell_text(c) for c in row))
        w.writerow([])
    return buf.getvalue()


def _numeric(value: object) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def table_html(t: Table) -> str:
    """One table as HTML (numbers right-aligned, the total row bold)."""
    out = [f"<h2>{escape(t.title)}</h2>", "<table><thead><tr>"]
    numeric_cols = {i for i in range(len(t.columns)) if any(_numeric(r[i]) for r in t.rows if i < len(r))}
    out += [
        f'<th class="{"num" if i in numeric_cols else ""}">{escape(c)}</th>' for i, c in enumerate(t.columns)
    ]
    out.append("</tr></thead><tbody>")
    if not t.rows:
        out.append(f'<tr><td colspan="{len(t.columns)}" class="muted">Nothing in this range.</td></tr>')
    for row in t.rows:
        cls = ' class="total"' if t.total_row and row and row[0] == "Total" else ""
        out.append(f"<tr{cls}>")
        out += [f'<td class="{"num" if _numeric(c) else ""}">{escape(cell_text(c))}</td>' for c in row]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def body_html(report: Report) -> str:
    """The report's content (heading, notes, charts, tables) without the page around it."""
    out = [
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="muted">{escape(getattr(report, "practice", ""))} · {escape(report.query.describe())}</p>',
        '<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in report.notes) + "</ul>",
        '<div class="charts">' + "".join(report.charts()) + "</div>",
    ]
    out += [table_html(t) for t in report.tables()]
    return "\n".join(out)


def to_html(report: Report) -> str:
    """A standalone HTML page of the report."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(report.title)} · therabill</title><style>{CSS}</style></head>"
        f"<body>\n{body_html(report)}\n</body></html>\n"
    )
