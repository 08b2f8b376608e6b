"""CSV exports for accountants: every ledger entry, every claim (amounts in dollars, two decimals).

The interop service reads the rows (``service_layer.interop``); this module writes the text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from therabill.domain.money import from_cents
from therabill.security.csvcell import safe_cell

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


def ledger_csv(
    entries: Iterable[Any],
    patients: Mapping[str, Any],
    payer_names: Mapping[str, str],
    claim_numbers: Mapping[str, str],
) -> str:
    """Ledger entries (in the order given) as CSV text, with the patient, payer and claim named."""
    rows = []
    for e in entries:
        p = patients.get(e.patient_id)
        rows.append({
            "posted_at": e.posted_at.isoformat(), "entry_id": e.id, "kind": e.kind, "bucket": e.bucket,
            "amount": f"{from_cents(e.amount_cents):.2f}", "patient_chart": p.chart_number if p else "",
            "patient": f"{p.last_name}, {p.first_name}" if p else "", "payer": payer_names.get(e.payer_id, ""),
            "claim_number": claim_numbers.get(e.claim_id, ""), "group_code": e.group_code, "reason_code": e.reason_code,
            "journal_id": e.journal_id, "reverses_entry_id": e.reverses_entry_id, "memo": e.memo, "posted_by": e.posted_by,
        })  # fmt: skip
    return _text(rows, LEDGER_COLUMNS)


def claims_csv(claims: Iterable[Any], patients: Mapping[str, Any], payer_names: Mapping[str, str]) -> str:
    """Claims (in the order given) as CSV text, with the patient and payer named."""
    rows = []
    for c in claims:
        p = patients[c.patient_id]
        rows.append({
            "claim_number": c.claim_number, "date_of_service": c.date_of_service.isoformat(), "status": c.status,
            "patient_chart": p.chart_number, "patient": f"{p.last_name}, {p.first_name}", "payer": payer_names.get(c.payer_id, ""),
            "total_charge": f"{from_cents(c.total_charge_cents):.2f}", "payer_claim_control_number": c.payer_claim_control_number,
            "interchange_control_number": c.interchange_control_number, "created_at": c.created_at.isoformat(),
            "updated_at": c.updated_at.isoformat(),
        })  # fmt: skip
    return _text(rows, CLAIM_COLUMNS)
