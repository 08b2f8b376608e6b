"""Shared look of the practice documents (superbill, statement, receipt, note, progress report).

US-letter pages with a header (practice name and address left, document title right), a
footer with the document's opaque id and page number, DejaVu fonts embedded, and one table
style. Amounts are formatted here only; they are never computed here.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import HRFlowable

from therabill.adapters.pdf.fonts import SANS, SANS_BOLD, register_fonts
from therabill.domain.forms import PartyView
from therabill.domain.money import usd_text

INK = colors.HexColor("#1f2933")
ACCENT = colors.HexColor("#2f6f73")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
BAND = colors.HexColor("#eef4f4")
MARGIN = 0.6 * inch
WIDTH = 7.3 * inch
"""The width of the text frame (US letter less the margins)."""


def styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles every document uses."""
    register_fonts()
    base = ParagraphStyle("body", fontName=SANS, fontSize=9, leading=12, textColor=INK)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5, textColor=MUTED),
        "label": ParagraphStyle(
            "label", parent=base, fontName=SANS_BOLD, fontSize=7, leading=9, textColor=MUTED
        ),
        "h1": ParagraphStyle(
            "h1", parent=base, fontName=SANS_BOLD, fontSize=16, leading=20, textColor=ACCENT
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=SANS_BOLD,
            fontSize=10.5,
            leading=14,
            spaceBefore=8,
            spaceAfter=3,
            textColor=ACCENT,
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5),
        "cell_r": ParagraphStyle("cell_r", parent=base, fontSize=8.5, leading=10.5, alignment=TA_RIGHT),
        "total": ParagraphStyle("total", parent=base, fontName=SANS_BOLD, fontSize=10, alignment=TA_RIGHT),
    }


def esc(text: object) -> str:
    """Escape text for a reportlab Paragraph."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


money = usd_text


def us_date(value: date | None) -> str:
    """``11/20/2026``; empty for ``None``."""
    return value.strftime("%m/%d/%Y") if value else ""


def party_block(party: PartyView, st: dict[str, ParagraphStyle], title: str | None = None) -> list[Flowable]:
    """A name and address block."""
    out: list[Flowable] = []
    if title:
        out.append(Paragraph(esc(title).upper(), st["label"]))
    lines = [f"<b>{esc(party.name)}</b>", *(esc(x) for x in party.lines)]
    if party.phone:
        lines.append(esc(party.phone))
    out.append(Paragraph("<br/>".join(lines), st["body"]))
    return out


def table(
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    header: bool = True,
    right_cols: Sequence[int] = (),
    total_row: bool = False,
) -> Table:
    """A zebra table with a header row in the accent colour."""
    t = Table(list(rows), colWidths=list(widths), repeatRows=1 if header else 0)
    cmds: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), SANS, 8.5),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
    ]
    if header:
        cmds += [
            ("FONT", (0, 0), (-1, 0), SANS_BOLD, 7.5),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
            ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ]
        for r in range(2, len(rows), 2):
            cmds.append(("BACKGROUND", (0, r), (-1, r), BAND))
    for c in right_cols:
        cmds.append(("ALIGN", (c, 0), (c, -1), "RIGHT"))
    if total_row:
        cmds += [
            ("FONT", (0, -1), (-1, -1), SANS_BOLD, 8.5),
            ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
            ("BACKGROUND", (0, -1), (-1, -1), colors.white),
        ]
    t.setStyle(TableStyle(cmds))
    return t


def key_values(pairs: Sequence[tuple[str, str]], st: dict[str, ParagraphStyle], width: float) -> Table:
    """A compact two-column list of labelled values."""
    rows = [[Paragraph(esc(k).upper(), st["label"]), Paragraph(esc(v), st["body"])] for k, v in pairs]
    t = Table(rows, colWidths=[width * 0.34, width * 0.66], hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return t


def client_header(
    left: Sequence[tuple[str, str]], right: Sequence[tuple[str, str]], st: dict[str, ParagraphStyle]
) -> list[Flowable]:
    """Two columns of labelled values (the client left, the visit or period right), then a rule."""
    half = WIDTH / 2
    top = Table([[key_values(left, st, half - 8), key_values(right, st, half - 8)]], colWidths=[half, half])
    top.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [top, rule()]


def diagnoses_block(diagnoses: Sequence[tuple[str, str]], st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The "Diagnoses" heading and the codes with their descriptions (nothing when there are none)."""
    if not diagnoses:
        return []
    text = "; ".join(f"<b>{esc(code)}</b> {esc(description)}".strip() for code, description in diagnoses)
    return [Paragraph("Diagnoses", st["h2"]), Paragraph(text, st["body"])]


def rule() -> HRFlowable:
    """A thin horizontal rule."""
    return HRFlowable(width="100%", thickness=0.6, color=RULE, spaceBefore=4, spaceAfter=4)


def signature_line(st: dict[str, ParagraphStyle], who: str, signed: str = "") -> Table:
    """Two ruled lines for a signature and a date."""
    t = Table(
        [[signed, ""], [Paragraph(esc(who), st["small"]), Paragraph("Date", st["small"])]],
        colWidths=[3.6 * inch, 1.8 * inch],
        rowHeights=[26, 12],
        hAlign="LEFT",
    )
    t.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 9),
                ("LINEBELOW", (0, 0), (0, 0), 0.8, INK),
                ("LINEBELOW", (1, 0), (1, 0), 0.8, INK),
                ("FONT", (0, 0), (-1, 0), SANS, 9),
                ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (0, -1), 24),
            ]
        )
    )
    return t


def build(
    story: list[Flowable],
    *,
    title: str,
    practice: PartyView,
    document_id: str,
    subtitle: str = "",
) -> bytes:
    """Lay out ``story`` on letter pages with the shared header and footer; return PDF bytes."""
    register_fonts()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 0.75 * inch,
        bottomMargin=MARGIN + 0.3 * inch,
        title=title,
        author=practice.name,
        creator="therabill",
        invariant=1,
        initialFontName=SANS,
        initialFontSize=9,
    )
    on_page = _decorate(title, practice, document_id, subtitle)
    doc.build(
        [*story, Spacer(1, 1)],
        onFirstPage=on_page,
        onLaterPages=on_page,
    )
    return buf.getvalue()


def _decorate(title: str, practice: PartyView, document_id: str, subtitle: str) -> Callable[[Any, Any], None]:
    def draw(canvas: Any, doc: Any) -> None:
        w, h = LETTER
        canvas.saveState()
        canvas.setFillColor(ACCENT)
        canvas.rect(0, h - 8, w, 8, stroke=0, fill=1)
        top = h - MARGIN - 4
        canvas.setFillColor(INK)
        canvas.setFont(SANS_BOLD, 12)
        canvas.drawString(MARGIN, top, practice.name)
        canvas.setFont(SANS, 8)
        canvas.setFillColor(MUTED)
        for i, line in enumerate([*practice.lines, practice.phone or ""][:4]):
            canvas.drawString(MARGIN, top - 11 - i * 10, line)
        canvas.setFillColor(ACCENT)
        canvas.setFont(SANS_BOLD, 16)
        canvas.drawRightString(w - MARGIN, top - 2, title.upper())
        if subtitle:
            canvas.setFillColor(MUTED)
            canvas.setFont(SANS, 8.5)
            canvas.drawRightString(w - MARGIN, top - 15, subtitle)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.8)
        canvas.line(MARGIN, h - MARGIN - 0.62 * inch, w - MARGIN, h - MARGIN - 0.62 * inch)
        canvas.setFont(SANS, 7)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, MARGIN - 6, f"{title} {document_id}")
        canvas.drawRightString(w - MARGIN, MARGIN - 6, f"Page {doc.page}")
        canvas.drawCentredString(w / 2, MARGIN - 6, "Confidential health information")
        canvas.restoreState()

    return draw
