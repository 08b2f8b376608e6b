"""Import patients, coverages and appointments from CSV exports, all or nothing.

A mapping (``mappings/*.toml``) says which column of the file holds which therabill field;
``generic`` is therabill's own format. Every row is checked first; any problem (named by
row number and column) refuses the whole file and nothing is written. Otherwise every row
is inserted in ONE transaction. ``dry_run`` checks and reports what would be created and
writes nothing.

This module reads and checks the file against what is on file (``OnFile``) and says what to
insert (``StagedImport``); the interop service (``service_layer.interop.import_csv``) reads
the lookups, inserts the rows, checks double bookings and audits, in one unit of work.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table

from therabill.adapters.db.tables import appointments, coverages, patients
from therabill.domain.errors import Problem, TherabillError

MAPPINGS = Path(__file__).resolve().parent / "mappings"
KINDS = ("patients", "coverages", "appointments")
REQUIRED = {
    "patients": ("chart_number", "first_name", "last_name"),
    "coverages": ("chart_number", "payer", "member_id"),
    "appointments": ("chart_number", "start", "end"),
}
_SEX = {"f": "F", "female": "F", "m": "M", "male": "M", "u": "U", "unknown": "U", "": None}
_SEQ = {
    "": "primary",
    "1": "primary",
    "primary": "primary",
    "2": "secondary",
    "secondary": "secondary",
    "3": "tertiary",
    "tertiary": "tertiary",
}
_REL = {"": "self", "self": "self", "spouse": "spouse", "child": "child", "other": "other"}
_STATUS = {"": "scheduled", "booked": "scheduled", "scheduled": "scheduled", "confirmed": "scheduled", "arrived": "arrived",
           "completed": "completed", "complete": "completed", "no show": "no_show", "no_show": "no_show", "cancelled": "cancelled", "canceled": "cancelled"}  # fmt: skip
MAX_ROWS = 50_000


class CsvImportError(TherabillError):
    """The file cannot be imported; every problem names its row and column."""

    code = "csv-import-invalid"


@dataclass
class ImportPlan:
    """What an import creates (or would create, in a dry run).

    Attributes:
        kind: ``patients``, ``coverages`` or ``appointments``.
        mapping: the mapping used.
        rows: the rows read.
        creates: one summary per row to create (``{"row": n, ...}``).
        committed: True when the rows were written.
    """

    kind: str
    mapping: str
    rows: int
    creates: list[dict[str, Any]] = field(default_factory=list)
    committed: bool = False


@dataclass(frozen=True, slots=True)
class OnFile:
    """What the rows of a file are checked against.

    Attributes:
        charts: patient id by chart number.
        payers: payer id by lower-case name and by lower-case payer id.
        providers: provider id by NPI.
    """

    charts: dict[str, str]
    payers: dict[str, str]
    providers: dict[str, str]


@dataclass
class StagedImport:
    """A checked file: the plan and the rows to insert.

    Attributes:
        plan: what the import creates.
        inserts: ``(table, values, row number)`` per row, in file order.
        columns: the mapping's columns of the kind (field -> column name).
    """

    plan: ImportPlan
    inserts: list[tuple[Table, dict[str, Any], int]]
    columns: dict[str, str]

    def problem_at(self, n: int, field_: str, code: str, message: str) -> Problem:
        """A problem of row ``n`` named by the file's column of ``field_``."""
        return Problem(code, f"row {n}: {self.columns.get(field_, field_)}", message)


def mapping_names() -> list[str]:
    """The mappings shipped (file stems)."""
    return sorted(p.stem for p in MAPPINGS.glob("*.toml"))


def load_mapping(name: str) -> dict[str, Any]:
    """A mapping by name (shipped) or path to a TOML file."""
    path = Path(name) if name.endswith(".toml") else MAPPINGS / f"{name}.toml"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CsvImportError(
            f"unknown mapping {name!r}",
            (Problem("csv-mapping-unknown", "--mapping", f"{exc}; known: {', '.join(mapping_names())}"),),
        ) from None


def _date(text: str, fmt: str | None) -> date:
    if fmt:
        return datetime.strptime(text, fmt).date()
    return date.fromisoformat(text)


def _datetime(text: str, fmt: str | None) -> datetime:
    if fmt:
        return datetime.strptime(text, fmt)
    return datetime.fromisoformat(text)


def _read(data: bytes) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="strict")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    if len(rows) > MAX_ROWS:
        raise CsvImportError(
            "too many rows", (Problem("csv-too-many-rows", "file", f"at most {MAX_ROWS} rows"),)
        )
    return rows


def stage_import(
    kind: str, data: bytes, on_file: OnFile, now: datetime, *, mapping: str = "generic"
) -> StagedImport:
    """Check every row of the file against what is on file; the rows to insert.

    Raises:
        CsvImportError: an unknown kind or mapping, missing columns, or bad rows (each
            problem's ``loc`` is ``row N: column``).
    """
    if kind not in KINDS:
        raise CsvImportError(
            f"unknown kind {kind!r}", (Problem("csv-kind-unknown", "KIND", f"use one of {', '.join(KINDS)}"),)
        )
    m = load_mapping(mapping)
    cols: dict[str, str] = m.get(kind) or {}
    if not cols:
        raise CsvImportError(
            f"mapping {mapping!r} has no {kind} columns",
            (Problem("csv-mapping-kind", "--mapping", f"no [{kind}] table"),),
        )
    about = m.get("about", {})
    try:
        rows = _read(data)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CsvImportError(
            "the file is not readable CSV", (Problem("csv-unreadable", "file", str(exc)),)
        ) from None
    header = set(rows[0]) if rows else set()
    missing = [f"{cols[f]!r} ({f})" for f in REQUIRED[kind] if f in cols and cols[f] not in header]
    missing += [f"({f})" for f in REQUIRED[kind] if f not in cols]
    if rows and missing:
        raise CsvImportError(
            "required columns are missing",
            tuple(Problem("csv-column-missing", "header", f"no column {c}") for c in missing),
        )
    plan = ImportPlan(kind, mapping, len(rows))
    problems: list[Problem] = []
    charts = on_file.charts
    by_payer = on_file.payers
    by_npi = on_file.providers
    only_provider = next(iter(by_npi.values())) if len(by_npi) == 1 else None
    new_charts: set[str] = set()
    inserts: list[tuple[Table, dict[str, Any], int]] = []
    for n, raw in enumerate(rows, start=2):  # row 1 is the header
        v = {f: raw.get(col, "") for f, col in cols.items()}

        def bad(field_: str, message: str, n: int = n) -> None:
            problems.append(Problem(f"csv-{kind}-invalid", f"row {n}: {cols.get(field_, field_)}", message))

        for f in REQUIRED[kind]:
            if not v.get(f):
                bad(f, f"{f} is required")
        if any(p.loc.startswith(f"row {n}:") for p in problems):
            continue
        if kind == "patients":
            chart = v["chart_number"]
            if chart in charts or chart in new_charts:
                bad("chart_number", f"chart number {chart!r} already exists")
                continue
            values: dict[str, Any] = {"chart_number": chart[:30], "first_name": v["first_name"][:60], "last_name": v["last_name"][:60],
                                      "middle_name": v.get("middle_name") or None, "created_at": now}  # fmt: skip
            try:
                values["birth_date"] = (
                    _date(v["birth_date"], about.get("date_format")) if v.get("birth_date") else None
                )
            except ValueError:
                bad(
                    "birth_date",
                    f"{v['birth_date']!r} is not a date ({about.get('date_format', 'YYYY-MM-DD')})",
                )
                continue
            sex = (v.get("sex") or "").lower()
            if sex not in _SEX:
                bad("sex", f"{v['sex']!r} is not F, M or U")
                continue
            values["sex"] = _SEX[sex]
            if v.get("email") and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v["email"]):
                bad("email", f"{v['email']!r} is not an e-mail address")
                continue
            values["email"] = v.get("email") or None
            values["phone"] = re.sub(r"\D", "", v.get("phone") or "")[:20] or None
            if v.get("address_line1"):
                values["address"] = {
                    "line1": v["address_line1"],
                    "city": v.get("city", ""),
                    "state": v.get("state", ""),
                    "zip": re.sub(r"\D", "", v.get("zip", "")),
                }
            new_charts.add(chart)
            inserts.append((patients, values, n))
            plan.creates.append(
                {
                    "row": n,
                    "patient": f"{values['last_name']}, {values['first_name']}",
                    "chart_number": chart,
                }
            )
        elif kind == "coverages":
            pid = charts.get(v["chart_number"])
            payer = by_payer.get(v["payer"].lower())
            seq = _SEQ.get((v.get("sequence") or "").lower())
            rel = _REL.get((v.get("relationship") or "").lower())
            if pid is None:
                bad("chart_number", f"no patient with chart number {v['chart_number']!r}")
            if payer is None:
                bad("payer", f"no payer named or with id {v['payer']!r}; add the payer first")
            if seq is None:
                bad("sequence", f"{v['sequence']!r} is not primary, secondary or tertiary")
            if rel is None:
                bad("relationship", f"{v['relationship']!r} is not self, spouse, child or other")
            if pid is None or payer is None or seq is None or rel is None:
                continue
            inserts.append((coverages, {"patient_id": pid, "payer_id": payer, "sequence": seq, "member_id": v["member_id"][:80],
                                        "group_number": v.get("group_number") or None, "plan_name": v.get("plan_name") or None,
                                        "relationship": rel, "created_at": now}, n))  # fmt: skip
            plan.creates.append(
                {"row": n, "coverage": f"{v['chart_number']} {seq} {v['payer']} {v['member_id']}"}
            )
        else:
            pid = charts.get(v["chart_number"])
            prov = by_npi.get(v.get("provider_npi", "")) if v.get("provider_npi") else only_provider
            status = _STATUS.get((v.get("status") or "").lower())
            if pid is None:
                bad("chart_number", f"no patient with chart number {v['chart_number']!r}")
            if prov is None:
                bad("provider_npi", f"no provider with NPI {v.get('provider_npi', '')!r}")
            if status is None:
                bad("status", f"{v['status']!r} is not a known appointment status")
            try:
                start = _datetime(v["start"], about.get("datetime_format"))
                end = _datetime(v["end"], about.get("datetime_format"))
            except ValueError:
                bad(
                    "start",
                    f"{v['start']!r} / {v['end']!r} are not date-times ({about.get('datetime_format', 'ISO 8601')})",
                )
                continue
            if end <= start:
                bad("end", "the appointment ends before it starts")
                continue
            if pid is None or prov is None or status is None:
                continue
            inserts.append((appointments, {"patient_id": pid, "provider_id": prov, "start": start, "end": end, "status": status,
                                           "reason": (v.get("reason") or None), "created_at": now}, n))  # fmt: skip
            plan.creates.append(
                {
                    "row": n,
                    "appointment": f"{v['chart_number']} {start:%Y-%m-%d %H:%M}-{end:%H:%M} {status}",
                }
            )
    if problems:
        raise CsvImportError(f"{len(problems)} problem(s) in the file; nothing was imported", tuple(problems))
    return StagedImport(plan, inserts, cols)
