"""The superbill: one page a client sends to an insurer to be reimbursed."""

from __future__ import annotations

from reportlab.lib.units import inch
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from therabill.adapters.pdf.fonts import SANS
from therabill.adapters.pdf.layout import (
    WIDTH,
    build,
    esc,
    key_values,
    money,
    party_block,
    rule,
    signature_line,
    styles,
    table,
    us_date,
)
from therabill.domain.forms import SuperbillView


def render_superbill(view: SuperbillView) -> bytes:
    """Render a superbill as PDF bytes."""
    st = styles()
    period = us_date(view.period_start)
    if view.period_end != view.period_start:
        period = f"{period} – {us_date(view.period_end)}"
    provider = key_values(
        [
            ("Billing NPI", view.practice_npi or ""),
            ("Tax ID", view.tax_id or ""),
            ("Therapist", view.therapist),
            ("Therapist NPI", view.therapist_npi or ""),
            ("License", view.license or ""),
            ("Place of service", view.place_of_service or ""),
        ],
        st,
        WIDTH / 2 - 10,
    )
    client_cells: list[Flowable] = [
        *party_block(view.client, st, "Client"),
        Spacer(1, 4),
        key_values(
            [
                ("Date of birth", us_date(view.client_birth_date)),
                ("Account", view.client_id),
                ("Dates of service", period),
            ],
            st,
            WIDTH / 2 - 10,
        ),
    ]
    top = Table(
        [[client_cells, [Paragraph("PROVIDER", st["label"]), provider]]], colWidths=[WIDTH / 2, WIDTH / 2]
    )
    top.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    story: list[Flowable] = [top, rule(), Paragraph("Diagnoses (ICD-10-CM)", st["h2"])]
    dx_rows = [["", "Code", "Description"]] + [
        [letter, code, Paragraph(esc(desc), st["cell"])] for letter, code, desc in view.diagnoses
    ]
    story.append(table(dx_rows, [0.3 * inch, 0.9 * inch, WIDTH - 1.2 * inch]))
    story.append(Paragraph("Services", st["h2"]))
    rows: list[list[object]] = [["Date", "Code", "Description", "Modifiers", "Dx", "Min", "Units", "Charge"]]
    rows += [
        [
            us_date(s.date_of_service),
            s.code,
            Paragraph(esc(s.description), st["cell"]),
            " ".join(s.modifiers),
            s.diagnosis_pointers,
            str(s.minutes),
            str(s.units),
            money(s.charge),
        ]
        for s in view.services
    ]
    rows.append(
        [
            "",
            "",
            "Total charged",
            "",
            "",
            "",
            str(sum(s.units for s in view.services)),
            money(view.total_charged),
        ]
    )
    widths = [0.8, 0.6, 2.75, 0.75, 0.45, 0.45, 0.5, 1.0]
    story.append(table(rows, [w * inch for w in widths], right_cols=(5, 6, 7), total_row=True))
    paid_how = f" ({view.payment_method})" if view.payment_method else ""
    totals = Table(
        [
            ["Total charged", money(view.total_charged)],
            [f"Paid by client{paid_how}", money(view.total_paid)],
            ["Balance", money(view.balance)],
        ],
        colWidths=[2.0 * inch, 1.0 * inch],
        hAlign="RIGHT",
    )
    totals.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 9),
                ("FONT", (0, 0), (-1, -1), "TBSans", 9),
                ("FONT", (0, -1), (-1, -1), "TBSans-Bold", 9.5),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, "#1f2933"),
            ]
        )
    )
    story += [Spacer(1, 8), totals, Spacer(1, 14)]
    story.append(
        Paragraph(
            "I certify that the services listed were medically indicated and provided by me or under my "
            "supervision. This statement is for the client's use in requesting reimbursement from their insurer.",
            st["small"],
        )
    )
    story += [Spacer(1, 10), signature_line(st, view.therapist)]
    return build(
        story,
        title="Superbill",
        practice=view.practice,
        document_id=view.document_id,
        subtitle=f"Issued {us_date(view.issued_on)}",
    )
