"""The appeal (reconsideration) letter of a denied claim, on the practice's letterhead."""

from __future__ import annotations

from reportlab.lib.units import inch
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from therabill.adapters.pdf.layout import (
    build,
    esc,
    key_values,
    party_block,
    signature_line,
    styles,
    table,
    us_date,
)
from therabill.domain.appeal import AppealLetterView, appeal_subject


def render_appeal_letter(view: AppealLetterView) -> bytes:
    """Render the appeal letter as PDF bytes."""
    st = styles()
    story: list[Flowable] = [Paragraph(esc(us_date(view.written_on)), st["body"]), Spacer(1, 8)]
    story += party_block(view.payer, st)
    story += [Spacer(1, 10), Paragraph(f"<b>{esc(appeal_subject(view))}</b>", st["body"]), Spacer(1, 6)]
    story.append(
        key_values(
            [
                ("Patient", view.patient_name),
                ("Date of birth", us_date(view.patient_birth_date)),
                ("Member id", view.member_id),
                ("Our claim number", view.claim_number),
                ("Payer claim number", view.payer_claim_number or "not given"),
                ("Date of service", us_date(view.date_of_service)),
                ("Billed", view.total_charge),
            ],
            st,
            7.3 * inch,
        )
    )
    story.append(Paragraph("To whom it may concern,", st["body"]))
    story.append(
        Paragraph(
            "We ask you to reconsider the claim above. The services were medically necessary, "
            "documented, and billed as performed.",
            st["body"],
        )
    )
    story.append(Paragraph("Why the claim should be paid", st["h2"]))
    story.append(Paragraph(esc(view.argument).replace("\n", "<br/>") or "—", st["body"]))
    if view.reasons or view.remarks:
        story.append(Paragraph("The payer's reasons", st["h2"]))
        rows: list[list[object]] = [["Code", "Meaning"]]
        rows += [[code, Paragraph(esc(words), st["cell"])] for code, words in (*view.reasons, *view.remarks)]
        story.append(table(rows, [1.0 * inch, 6.3 * inch]))
    story.append(Paragraph("Diagnoses", st["h2"]))
    drows: list[list[object]] = [["ICD-10-CM", "Description"]]
    drows += [[code, Paragraph(esc(desc), st["cell"])] for code, desc in view.diagnoses]
    story.append(table(drows, [1.0 * inch, 6.3 * inch]))
    story.append(Paragraph("Services", st["h2"]))
    srows: list[list[object]] = [["Code", "Units", "Charge"]]
    srows += [list(s) for s in view.services]
    story.append(table(srows, [w * inch for w in (3.0, 2.0, 2.3)], right_cols=(1, 2)))
    if view.medical_necessity:
        story.append(Paragraph("Medical necessity (from the visit note)", st["h2"]))
        story.append(Paragraph(esc(view.medical_necessity), st["body"]))
    story.append(Paragraph("The visit note and any records you need are available on request.", st["body"]))
    story += [Spacer(1, 14), KeepTogether([signature_line(st, view.signer)])]
    return build(
        story,
        title="Appeal",
        practice=view.practice,
        document_id=view.claim_number,
        subtitle=f"Claim {view.claim_number}",
    )
