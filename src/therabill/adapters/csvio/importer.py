"""Import patients, coverages and appointments from CSV exports, all or nothing.

A mapping (``mappings/*.toml``) says which column of the file holds which therabill field;
``generic`` is therabill's own format. Every row is checked first; any problem (named by
row number and column) refuses the whole file and nothing is written. Otherwise every row
is inserted in ONE transaction. ``dry_run`` checks and reports what would be created and
writes nothing.
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

from sqlalchemy import Engine

from therabill.adapters.db.tables import appointments, coverages, patients, payers, providers
from therabill.clock import Clock, current_time
from therabill.domain.errors import Problem, TherabillError
from therabill.domain.schedule import OCCUPYING, Span
from therabill.service_layer.availability import double_bookings
from therabill.service_layer.schedule_setup import policy_in
from therabill.service_layer.uow import UnitOfWork

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


def _import(
    engine: Engine,
    practice_id: str,
    actor: str,
    kind: str,
    data: bytes,
    *,
    mapping: str = "generic",
    dry_run: bool = False,
    clock: Clock = current_time,
) -> ImportPlan:
    """Check every row, then create all of them in one transaction (or none; or only report).

    Raises:
        CsvImportError: an unknown kind or mapping, missing columns, or bad rows (each
            problem's ``loc`` is ``row N: column``); nothing was written.
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
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        r = uow.records
        charts = {p.chart_number: p.id for p in r.patients()}
        payer_rows = r.rows(payers)
        by_payer = {p.name.lower(): p.id for p in payer_rows} | {
            (p.payer_id or "").lower(): p.id for p in payer_rows if p.payer_id
        }
        by_npi = {p.npi: p.id for p in r.rows(providers) if p.npi}
        only_provider = next(iter(by_npi.values())) if len(by_npi) == 1 else None
        new_charts: set[str] = set()
        inserts: list[tuple[Any, dict[str, Any], int]] = []
        for n, raw in enumerate(rows, start=2):  # row 1 is the header
            v = {f: raw.get(col, "") for f, col in cols.items()}

            def bad(field_: str, message: str, n: int = n) -> None:
                problems.append(
                    Problem(f"csv-{kind}-invalid", f"row {n}: {cols.get(field_, field_)}", message)
                )

            for f in REQUIRED[kind]:
                if not v.get(f):
                    bad(f, f"{f} is required")
            if any(p.loc.startswith(f"row {n}:") for p in problems):
                continue
            now = uow.now()
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
            raise CsvImportError(
                f"{len(problems)} problem(s) in the file; nothing was imported", tuple(problems)
            )
        zone = policy_in(uow).time_zone if kind == "appointments" else ""
        occupying = {s.value for s in OCCUPYING}
        for table, values, n in inserts:
            new = r.insert(table, **values)
            if table is appointments and values["status"] in occupying:
                # the one double-booking check of the calendar: against the stored
                # appointments and the file's earlier rows (inserted just above)
                found = double_bookings(uow, zone, provider_id=values["provider_id"], room_id=None,
                                        span=Span(values["start"], values["end"]), exclude=[new])  # fmt: skip
                problems.extend(
                    Problem(p.code, f"row {n}: {cols.get('start', 'start')}", p.message) for p in found
                )
        if problems:
            raise CsvImportError(
                f"{len(problems)} problem(s) in the file; nothing was imported", tuple(problems)
            )
        if dry_run:
            raise _DryRun(plan)
        uow.record(f"import.{kind}", "practice", practice_id, {"rows": len(inserts), "mapping": mapping})
        plan.committed = True
    return plan


class _DryRun(Exception):  # noqa: N818 - control flow: leaves the unit of work, which rolls back
    def __init__(self, plan: ImportPlan) -> None:
        self.plan = plan


def import_csv(
    engine: Engine,
    practice_id: str,
    actor: str,
    kind: str,
    data: bytes,
    *,
    mapping: str = "generic",
    dry_run: bool = False,
    clock: Clock = current_time,
) -> ImportPlan:
    """Check every row, then create all of them in one transaction (none on any problem).

    With ``dry_run`` the rows are checked the same way and the plan is returned, but the
    transaction is rolled back: nothing is written.

    Raises:
        CsvImportError: an unknown kind or mapping, missing columns, or bad rows (each
            problem's ``loc`` is ``row N: column``); nothing was written.
    """
    try:
        return _import(engine, practice_id, actor, kind, data, mapping=mapping, dry_run=dry_run, clock=clock)
    except _DryRun as done:
        return done.plan


def preview_csv(
    engine: Engine, practice_id: str, actor: str, kind: str, data: bytes, *, mapping: str = "generic"
) -> ImportPlan:
    """What ``import_csv`` would create; nothing is written."""
    return import_csv(engine, practice_id, actor, kind, data, mapping=mapping, dry_run=True)
