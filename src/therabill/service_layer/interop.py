"""Data in and out of the practice: a patient's record as FHIR, CSV exports for accountants, CSV
imports of patients, coverages and appointments.

The use cases behind ``therabill export`` / ``import`` and the API's FHIR route. This module
reads and writes through the unit of work and audits; the adapters (``adapters.fhir``,
``adapters.csvio``) only translate rows to documents and files to rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.csvio import (
    CsvImportError,
    ImportPlan,
    OnFile,
    StagedImport,
    claims_csv,
    ledger_csv,
    stage_import,
)
from therabill.adapters.db.ledger_tables import ledger_entries, remittance_claims
from therabill.adapters.db.tables import (
    appointments,
    claims,
    objective_measures,
    patients,
    payers,
    practices,
    providers,
    visits,
)
from therabill.adapters.fhir import FhirExportError, PatientRecord, bundle_of, validate_bundle
from therabill.clock import Clock, current_time
from therabill.domain.errors import Problem
from therabill.domain.schedule import OCCUPYING, Span
from therabill.service_layer.availability import double_bookings
from therabill.service_layer.schedule_setup import policy_in
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "CsvImportError",
    "FhirExportError",
    "ImportPlan",
    "export_claims",
    "export_ledger",
    "import_csv",
    "patient_bundle",
    "preview_csv",
    "validate_bundle",
]


def patient_bundle(
    engine: Engine,
    practice_id: str,
    actor: str,
    patient_id: str,
    *,
    now: datetime | None = None,
    clinical: bool = True,
    billing: bool = True,
    provider_id: str | None = None,
) -> dict[str, Any]:
    """The patient's record as a FHIR R4 Bundle (a JSON-ready dict); ``NotFoundError`` for an
    unknown id. The export is a read of PHI and is audited (``fhir.export``).

    Args:
        now: when the Bundle is created (default: the clock).
        clinical: include visits (Encounter, Condition, Procedure, Observation).
        billing: include claims and remittance results (Claim, ExplanationOfBenefit).
        provider_id: only the visits (and their measures) of this rendering provider.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        r = uow.records
        pat = r.get(patients, patient_id)
        practice = uow.session.execute(select(practices).where(practices.c.id == practice_id)).one()
        visit_rows = r.rows(visits, visits.c.patient_id == patient_id, order_by=[visits.c.date_of_service])
        measures = r.rows(objective_measures, objective_measures.c.patient_id == patient_id)
        claim_rows = r.rows(claims, claims.c.patient_id == patient_id, order_by=[claims.c.date_of_service])
        if not clinical:
            visit_rows = []
        elif provider_id is not None:
            visit_rows = [v for v in visit_rows if v.provider_id == provider_id]
        shown = {v.id for v in visit_rows}
        if not billing:
            claim_rows = []
        record = PatientRecord(
            patient=pat,
            practice=practice,
            coverages=r.coverages_of(patient_id),
            payers={p.id: p for p in r.rows(payers)},
            providers={p.id: p for p in r.rows(providers)},
            visits=visit_rows,
            measures=[m for m in measures if m.visit_id in shown],
            claims=claim_rows,
            lines={c.id: r.lines_of(c.id) for c in claim_rows},
            remittances=r.rows(
                remittance_claims, remittance_claims.c.claim_id.in_([c.id for c in claim_rows])
            ),
        )
    # audited in its own (writing) unit, the read above being read-only
    with UnitOfWork(engine, practice_id, actor, clock=(lambda: now) if now else current_time) as audit_uow:
        audit_uow.record("fhir.export", "patient", patient_id, {"claims": len(claim_rows)})
    return bundle_of(record, now or current_time())


def export_ledger(engine: Engine, practice_id: str, actor: str) -> str:
    """Every ledger entry in posting order, as CSV text."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        r = uow.records
        return ledger_csv(
            r.rows(ledger_entries, order_by=[ledger_entries.c.posted_at, ledger_entries.c.id]),
            {p.id: p for p in r.rows(patients)},
            {p.id: p.name for p in r.rows(payers)},
            {c.id: c.claim_number for c in r.rows(claims)},
        )


def export_claims(engine: Engine, practice_id: str, actor: str) -> str:
    """Every claim (oldest date of service first), as CSV text."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        r = uow.records
        return claims_csv(
            r.rows(claims, order_by=[claims.c.date_of_service, claims.c.claim_number]),
            {p.id: p for p in r.rows(patients)},
            {p.id: p.name for p in r.rows(payers)},
        )


class _DryRun(Exception):  # noqa: N818 - control flow: leaves the unit of work, which rolls back
    def __init__(self, plan: ImportPlan) -> None:
        self.plan = plan


def _on_file(uow: UnitOfWork) -> OnFile:
    r = uow.records
    payer_rows = r.rows(payers)
    return OnFile(
        charts={p.chart_number: p.id for p in r.patients()},
        payers={p.name.lower(): p.id for p in payer_rows}
        | {(p.payer_id or "").lower(): p.id for p in payer_rows if p.payer_id},
        providers={p.npi: p.id for p in r.rows(providers) if p.npi},
    )


def _insert(uow: UnitOfWork, staged: StagedImport) -> None:
    """Insert the staged rows; the calendar's one double-booking check runs on each occupying
    appointment, against the stored ones and the file's earlier rows (inserted just before)."""
    problems: list[Problem] = []
    zone = policy_in(uow).time_zone if staged.plan.kind == "appointments" else ""
    occupying = {s.value for s in OCCUPYING}
    for table, values, n in staged.inserts:
        new = uow.records.insert(table, **values)
        if table is appointments and values["status"] in occupying:
            found = double_bookings(uow, zone, provider_id=values["provider_id"], room_id=None,
                                    span=Span(values["start"], values["end"]), exclude=[new])  # fmt: skip
            problems.extend(staged.problem_at(n, "start", p.code, p.message) for p in found)
    if problems:
        raise CsvImportError(f"{len(problems)} problem(s) in the file; nothing was imported", tuple(problems))


def _import(
    engine: Engine,
    practice_id: str,
    actor: str,
    kind: str,
    data: bytes,
    *,
    mapping: str,
    dry_run: bool,
    clock: Clock,
) -> ImportPlan:
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        staged = stage_import(kind, data, _on_file(uow), uow.now(), mapping=mapping)
        _insert(uow, staged)
        if dry_run:
            raise _DryRun(staged.plan)
        uow.record(
            f"import.{kind}", "practice", practice_id, {"rows": len(staged.inserts), "mapping": mapping}
        )
        staged.plan.committed = True
    return staged.plan


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
