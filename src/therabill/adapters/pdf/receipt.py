"""A receipt for a payment (cash, card, check)."""

from __future__ import annotations

from reportlab.lib.units import inch
from reportlab.platypus import Flowable, Paragraph, Spacer

from therabill.adapters.pdf.layout import WIDTH, build, esc, key_values, money, rule, styles, table, us_date
from therabill.domain.forms import ReceiptView


def render_receipt(view: ReceiptView) -> bytes:
    """Render a receipt as PDF bytes."""
    st = styles()
    story: list[Flowable] = [
        Paragraph(f"Received with thanks: <b>{esc(money(view.amount))}</b>", st["h1"]),
        Spacer(1, 8),
        key_values(
            [
                ("Receipt number", view.receipt_id),
                ("Date paid", us_date(view.paid_on)),
                ("Received from", view.payer_name),
                ("Account", view.account_id),
                ("Method", view.method + (f" ({view.reference})" if view.reference else "")),
                ("Practice tax ID", view.practice_tax_id or ""),
            ],
            st,
            WIDTH * 0.6,
        ),
    ]
    if view.applied_to:
        story.append(Paragraph("Applied to", st["h2"]))
        rows: list[list[object]] = [["Item", "Amount"]]
        rows += [[Paragraph(esc(d), st["cell"]), money(a)] for d, a in view.applied_to]
        rows.append(["Total", money(view.amount)])
        story.append(table(rows, [WIDTH - 1.3 * inch, 1.3 * inch], right_cols=(1,), total_row=True))
    if view.services:
        story.append(Paragraph("Itemized services (for your HSA or FSA)", st["h2"]))
        srows: list[list[object]] = [["Date of\nservice", "Service", "Provider", "Diagnosis", "Paid"]]
        srows += [
            [
                us_date(s.service_date),
                Paragraph(f"{esc(s.code)} {esc(s.description)}", st["cell"]),
                Paragraph(
                    "<br/>".join(esc(x) for x in (s.provider, f"Licence {s.license}", f"NPI {s.npi}") if x),
                    st["cell"],
                ),
                Paragraph("<br/>".join(esc(d) for d in s.diagnoses), st["cell"]),
                money(s.paid),
            ]
            for s in view.services
        ]
        story.append(table(srows, [w * inch for w in (0.85, 1.9, 1.85, 1.95, 0.75)], right_cols=(4,)))
    if view.balance_after is not None:
        story += [
            Spacer(1, 6),
            Paragraph(
                f"Account balance after this payment: <b>{esc(money(view.balance_after))}</b>", st["body"]
            ),
        ]
    story += [rule(), Paragraph("Keep this receipt for your records.", st["small"])]
    return build(
        story,
        title="Receipt",
        practice=view.practice,
        document_id=view.receipt_id,
        subtitle=us_date(view.paid_on),
    )
