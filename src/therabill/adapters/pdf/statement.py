"""The patient statement: what insurance paid and adjusted, what the patient owes, aging."""

from __future__ import annotations

from reportlab.lib.units import inch
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from therabill.adapters.pdf.fonts import SANS
from therabill.adapters.pdf.layout import (
    ACCENT,
    BAND,
    WIDTH,
    build,
    esc,
    money,
    party_block,
    rule,
    styles,
    table,
    us_date,
)
from therabill.domain.forms import StatementView


def render_statement(view: StatementView) -> bytes:
    """Render a statement as PDF bytes (every amount as the ledger gave it)."""
    st = styles()
    due = Table(
        [
            [Paragraph("AMOUNT DUE", st["label"])],
            [Paragraph(f"<font size=18><b>{esc(money(view.amount_due))}</b></font>", st["body"])],
            [Paragraph(f"Please pay by {esc(us_date(view.due_date))}" if view.due_date else "", st["small"])],
        ],
        colWidths=[2.3 * inch],
    )
    due.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 9),
                ("BACKGROUND", (0, 0), (-1, -1), BAND),
                ("BOX", (0, 0), (-1, -1), 1, ACCENT),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 1), (-1, 1), 6),
                ("BOTTOMPADDING", (0, 1), (-1, 1), 6),
            ]
        )
    )
    info = [
        *party_block(view.patient, st, "Statement for"),
        Spacer(1, 4),
        Paragraph(f"Account {esc(view.account_id)} · Statement {esc(view.statement_id)}", st["small"]),
        Paragraph(f"Statement date {esc(us_date(view.statement_date))}", st["small"]),
    ]
    top = Table([[info, due]], colWidths=[WIDTH - 2.5 * inch, 2.5 * inch])
    top.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
            ]
        )
    )
    story: list[Flowable] = [top, Spacer(1, 6), Paragraph("Account activity", st["h2"])]
    rows: list[list[object]] = [
        ["Date", "Description", "Charges", "Insurance paid", "Adjustments", "You paid", "Account balance"]
    ]
    rows += [
        [
            us_date(ln.posted_on),
            Paragraph(esc(ln.description), st["cell"]),
            money(ln.charge) if ln.charge else "",
            money(ln.insurance_paid) if ln.insurance_paid else "",
            money(ln.adjustment) if ln.adjustment else "",
            money(ln.patient_paid) if ln.patient_paid else "",
            money(ln.balance),
        ]
        for ln in view.lines
    ]
    rows.append(["", "Amount due", "", "", "", "", money(view.amount_due)])
    widths = [0.8, 2.4, 0.8, 0.95, 0.85, 0.75, 0.75]
    story.append(table(rows, [w * inch for w in widths], right_cols=(2, 3, 4, 5, 6), total_row=True))
    if view.aging:
        story.append(Paragraph("Aging", st["h2"]))
        aging = [[label for label, _ in view.aging], [money(a) for _, a in view.aging]]
        story.append(
            table(aging, [WIDTH / len(view.aging)] * len(view.aging), right_cols=range(len(view.aging)))
        )
    if view.how_to_pay:
        story += [
            Paragraph("How to pay", st["h2"]),
            Paragraph("<br/>".join(esc(x) for x in view.how_to_pay), st["body"]),
        ]
    if view.message:
        story += [rule(), Paragraph(esc(view.message), st["small"])]
    return build(
        story,
        title="Statement",
        practice=view.practice,
        document_id=view.statement_id,
        subtitle=f"{us_date(view.statement_date)}",
    )
