"""The appeal letter of a denied claim: a PDF from the biller's note, the diagnoses, the
payer's CARC/RARC and the payer's claims address (``adapters/pdf/appeal.py`` lays it out)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from therabill.adapters.db.followup_tables import claim_followups
from therabill.adapters.db.tables import claims
from therabill.adapters.pdf.appeal import render_appeal_letter
from therabill.domain.appeal import AppealLetterView
from therabill.domain.denials import explain, explain_remark
from therabill.domain.encounter import Address
from therabill.domain.forms import PartyView
from therabill.domain.money import usd_text
from therabill.refdata.codes import denial_table
from therabill.service_layer import claims as claims_svc
from therabill.service_layer.documents import diagnosis_descriptions
from therabill.service_layer.errors import refuse
from therabill.service_layer.followup import adjustment_codes
from therabill.service_layer.uow import UnitOfWork

__all__ = ["appeal_letter_pdf"]

_NOTE_MAX = 4000


def _party(name: str, address: Address | None, phone: str | None = None) -> PartyView:
    lines: list[str] = []
    if address is not None:
        lines.append(", ".join(p for p in (address.line1, address.line2) if p))
        z = address.zip
        lines.append(
            f"{address.city}, {address.state} {z[:5]}-{z[5:]}"
            if len(z) == 9
            else f"{address.city}, {address.state} {z}"
        )
    return PartyView(name=name, lines=tuple(lines), phone=phone)


def appeal_letter_pdf(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim_id: str,
    *,
    note: str,
    as_of: date,
    signer: str | None = None,
) -> tuple[bytes, str]:
    """The appeal letter of a claim (PDF) and its claim number: the biller's ``note`` as the
    argument, the diagnoses with their descriptions, the CARCs the payer posted and the RARCs
    recorded on the follow-up item, addressed to the payer's claims address.

    Raises:
        RecordsError: an empty note (``appeal-note-missing``).
    """
    argument = note.strip()
    if len(argument) > _NOTE_MAX:
        raise refuse("appeal-note-too-long", "note", f"at most {_NOTE_MAX} characters")
    if not argument:
        raise refuse("appeal-note-missing", "note", "write why the claim should be paid")
    claim = claims_svc.claim_record(engine, practice_id, actor, claim_id)
    enc = claim.encounter
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        row = uow.records.get(claims, claim_id)
        found = uow.records.rows(claim_followups, claim_followups.c.claim_id == claim_id)
        kept = found[0] if found else None
    table = denial_table()
    reasons = tuple(
        (f"{g}-{r}", explain(g, r, table).words)
        for g, r in adjustment_codes(engine, practice_id, actor, claim_id)
    )
    remarks = tuple((c, explain_remark(c, table).words) for c in ((kept.remark_codes or []) if kept else []))
    described = diagnosis_descriptions(list(enc.diagnoses), enc.date_of_service)
    bp, cov, pat = enc.billing_provider, enc.coverage, enc.patient
    practice_name = ""
    if bp is not None:
        practice_name = bp.organization_name or " ".join(p for p in (bp.first_name, bp.last_name) if p)
    view = AppealLetterView(
        practice=_party(practice_name, bp.address if bp else None, bp.phone if bp else None),
        payer=_party(
            f"{cov.payer_name if cov else ''} — Appeals / Reconsiderations",
            cov.payer_address if cov else None,
        ),
        written_on=as_of,
        patient_name=f"{pat.first_name} {pat.last_name}" if pat else "",
        patient_birth_date=pat.birth_date if pat else None,
        member_id=(cov.member_id or "") if cov else "",
        claim_number=row.claim_number,
        payer_claim_number=row.payer_claim_control_number,
        date_of_service=enc.date_of_service,
        total_charge=usd_text(claim.total_charge),
        services=tuple(
            (
                ln.code + ("-" + "-".join(ln.modifiers) if ln.modifiers else ""),
                str(ln.units),
                usd_text(ln.charge),
            )
            for ln in claim.lines
        ),
        diagnoses=tuple((d, described.get(d, "")) for d in enc.diagnoses),
        reasons=reasons,
        remarks=remarks,
        argument=argument,
        medical_necessity=enc.documentation.medical_necessity if enc.documentation else None,
        signer=signer or practice_name,
    )
    return render_appeal_letter(view), row.claim_number
