"""CSV exports for accountants: every ledger entry, every claim (amounts in dollars, two decimals)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import Engine

from therabill.adapters.db.ledger_tables import ledger_entries
from therabill.adapters.db.tables import claims, patients, payers
from therabill.domain.money import from_cents
from therabill.security.csvcell import safe_cell
from therabill.service_layer.uow import UnitOfWork

LEDGER_COLUMNS = ("posted_at", "entry_id", "kind", "bucket", "amount", "patient_chart", "patient", "payer", "claim_number",
                  "group_code", "reason_code", "journal_id", "reverses_entry_id", "memo", "posted_by")  # fmt: skip
CLAIM_COLUMNS = ("claim_number", "date_of_service", "status", "patient_chart", "patient", "payer", "total_charge",
                 "payer_claim_control_number", "interchange_control_number", "created_at", "updated_at")  # fmt: skip


def _text(rows: list[dict[str, object]], columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: safe_cell(row.get(k)) for k in columns})
    return out.getvalue()


def export_ledger(engine: Engine, practice_id: str, actor: str) -> str:
    """Every ledger entry in posting order, as CSV text."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        r = uow.records
        pats = {p.id: p for p in r.rows(patients)}
        pays = {p.id: p.name for p in r.rows(payers)}
        numbers = {c.id: c.claim_number for c in r.rows(claims)}
        rows = []
        for e in r.rows(ledger_entries, order_by=[ledger_entries.c.posted_at, ledger_entries.c.id]):
            p = pats.get(e.patient_id)
            rows.append({
                "posted_at": e.posted_at.isoformat(), "entry_id": e.id, "kind": e.kind, "bucket": e.bucket,
                "amount": f"{from_cents(e.amount_cents):.2f}", "patient_chart": p.chart_number if p else "",
                "patient": f"{p.last_name}, {p.first_name}" if p else "", "payer": pays.get(e.payer_id, ""),
                "claim_number": numbers.get(e.claim_id, ""), "group_code": e.group_code, "reason_code": e.reason_code,
                "journal_id": e.journal_id, "reverses_entry_id": e.reverses_entry_id, "memo": e.memo, "posted_by": e.posted_by,
            })  # fmt: skip
    return _text(rows, LEDGER_COLUMNS)


def export_claims(engine: Engine, practice_id: str, actor: str) -> str:
    """Every claim (oldest date of service first), as CSV text."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        r = uow.records
        pats = {p.id: p for p in r.rows(patients)}
        pays = {p.id: p.name for p in r.rows(payers)}
        rows = []
        for c in r.rows(claims, order_by=[claims.c.date_of_service, claims.c.claim_number]):
            p = pats[c.patient_id]
            rows.append({
                "claim_number": c.claim_number, "date_of_service": c.date_of_service.isoformat(), "status": c.status,
                "patient_chart": p.chart_number, "patient": f"{p.last_name}, {p.first_name}", "payer": pays.get(c.payer_id, ""),
                "total_charge": f"{from_cents(c.total_charge_cents):.2f}", "payer_claim_control_number": c.payer_claim_control_number,
                "interchange_control_number": c.interchange_control_number, "created_at": c.created_at.isoformat(),
                "updated_at": c.updated_at.isoformat(),
            })  # fmt: skip
    return _text(rows, CLAIM_COLUMNS)
