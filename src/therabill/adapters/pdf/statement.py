"""The patient statement: each service with what insurance did, the patient's share, aging, a stub.

One row per service (dated with the date of service) or unapplied payment; the amount due
and the aging come from the view (the ledger's figures); a detachable remittance stub closes
the page when there is something to pay and somewhere to mail it. A short balance fits on
one page.
"""

from __future__ import annotations

from decimal import Decimal

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle
from reportlab.platypus.flowables import HRFlowable

from therabill.adapters.pdf.fonts import SANS
from therabill.adapters.pdf.layout import (
    ACCENT,
    BAND,
    INK,
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


def _amount(value: Decimal) -> str:
    return money(value) if value else ""


def _due_box(view: StatementView, st: dict[str, ParagraphStyle]) -> Table:
    due = Table(
        [
            [Paragraph("AMOUNT DUE", st["label"])],
            [Paragraph(f"<font size=18><b>{esc(money(view.amount_due))}</b></font>", st["body"])],
            [
                Paragraph(
                    f"Please pay by {esc(us_date(view.due_date))}" if view.due_date else "",
                    st["small"],
                )
            ],
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
    return due


def _stub(view: StatementView, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The remittance stub: cut along the line and mail it back with the payment."""
    assert view.remit_to is not None
    left = [
        Paragraph("PLEASE RETURN THIS PART WITH YOUR PAYMENT", st["label"]),
        Paragraph(
            "<br/>".join(
                [
                    f"Account <b>{esc(view.account_id)}</b>",
                    f"Statement {esc(view.statement_id)} of {esc(us_date(view.statement_date))}",
                    f"Amount due <b>{esc(money(view.amount_due))}</b>"
                    + (f" by {esc(us_date(view.due_date))}" if view.due_date else ""),
                    "Amount enclosed $ ______________",
                ]
            ),
            st["body"],
        ),
        Spacer(1, 4),
        *party_block(view.patient, st, "From"),
    ]
    right = party_block(view.remit_to, st, "Make checks payable and mail to")
    body = Table([[left, right]], colWidths=[WIDTH / 2, WIDTH / 2])
    body.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
            ]
        )
    )
    return [
        Spacer(1, 10),
        HRFlowable(width="100%", thickness=0.8, color=INK, dash=(3, 3), spaceBefore=2, spaceAfter=2),
        Paragraph("✂ detach here", st["small"]),
        body,
    ]


def render_statement(view: StatementView) -> bytes:
    """Render a statement as PDF bytes (every amount as the ledger gave it)."""
    st = styles()
    info = [
        *party_block(view.patient, st, "Statement for"),
        Spacer(1, 4),
        Paragraph(f"Account {esc(view.account_id)} · Statement {esc(view.statement_id)}", st["small"]),
        Paragraph(f"Statement date {esc(us_date(view.statement_date))}", st["small"]),
    ]
    top = Table([[info, _due_box(view, st)]], colWidths=[WIDTH - 2.5 * inch, 2.5 * inch])
    top.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
            ]
        )
    )
    story: list[Flowable] = [top, Spacer(1, 4), Paragraph("Your services and payments", st["h2"])]
    head: list[object] = [
        "Date of\nservice",
        "Service",
        "Charge",
        "Insurance\npaid",
        "Adjusted",
        "Insurance\npending",
        "Your share",
        "You\npaid",
        "You\nowe",
    ]
    rows: list[list[object]] = [head]
    rows += [
        [
            us_date(ln.service_date),
            Paragraph(esc(ln.description), st["cell"]),
            _amount(ln.charge),
            _amount(ln.insurance_paid),
            _amount(ln.adjustment),
            _amount(ln.insurance_pending),
            _amount(ln.your_share),
            _amount(ln.patient_paid),
            money(ln.balance),
        ]
        for ln in view.lines
    ]
    rows.append(["", "Amount due", "", "", "", "", "", "", money(view.amount_due)])
    widths = [0.75, 2.15, 0.62, 0.62, 0.62, 0.62, 0.72, 0.6, 0.6]
    story.append(table(rows, [w * inch for w in widths], right_cols=range(2, 9), total_row=True))
    if view.aging:
        aging = [[label for label, _ in view.aging] + ["Total"]]
        aging.append([money(a) for _, a in view.aging] + [money(sum((a for _, a in view.aging), Decimal(0)))])
        n = len(view.aging) + 1
        story += [Paragraph("Aging of what you owe", st["h2"])]
        story.append(table(aging, [WIDTH / n] * n, right_cols=range(n)))
    if view.how_to_pay:
        story += [
            Paragraph("How to pay", st["h2"]),
            Paragraph("<br/>".join(esc(x) for x in view.how_to_pay), st["body"]),
        ]
    if view.message:
        story += [rule(), Paragraph(esc(view.message), st["small"])]
    if view.remit_to is not None and view.amount_due > 0:
        story.append(KeepTogether(_stub(view, st)))
    return build(
        story,
        title="Statement",
        practice=view.practice,
        document_id=view.statement_id,
        subtitle=f"{us_date(view.statement_date)}",
    )
