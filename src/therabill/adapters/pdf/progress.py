"""The progress report across visits, with a chart of pain and range of motion."""

from __future__ import annotations

from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, Group, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.units import inch
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from therabill.adapters.pdf.fonts import SANS, SANS_BOLD
from therabill.adapters.pdf.layout import (
    INK,
    MUTED,
    WIDTH,
    build,
    client_header,
    diagnoses_block,
    esc,
    signature_line,
    styles,
    table,
    us_date,
)
from therabill.domain.forms import ProgressReportView

PAIN = colors.HexColor("#c0392b")
ROM = colors.HexColor("#2f6f73")


def _chart(
    view: ProgressReportView,
    label: str,
    values: list[int | None],
    top: int,
    step: int,
    unit: str,
    color: colors.Color,
) -> Drawing:
    w, h = 3.5 * inch, 2.1 * inch
    d = Drawing(w, h, initialFontName=SANS, initialFontSize=8)  # no unembedded default font
    d.add(String(w / 2, h - 12, label, fontName=SANS_BOLD, fontSize=9, fillColor=INK, textAnchor="middle"))
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 40, 34, w - 55, h - 62
    chart.data = [list(values)]  # None leaves a gap
    chart.categoryAxis.categoryNames = [v.date_of_service.strftime("%m/%d") for v in view.visits]
    chart.categoryAxis.labels.fontName = SANS
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 0
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = top
    chart.valueAxis.valueStep = step
    chart.valueAxis.labels.fontName = SANS
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#e4e7eb")
    chart.lines[0].strokeColor = color
    chart.lines[0].strokeWidth = 2
    chart.lines.symbol = None
    chart.lines[0].symbol = makeMarker("FilledCircle", size=4, fillColor=color, strokeColor=color)
    d.add(chart)
    d.add(String(w / 2, 8, "Visit date", fontName=SANS, fontSize=7.5, fillColor=MUTED, textAnchor="middle"))
    ylab = String(0, 0, unit, fontName=SANS, fontSize=7.5, fillColor=MUTED, textAnchor="middle")
    g = Group(ylab)
    g.transform = (0, 1, -1, 0, 12, 34 + (h - 62) / 2)
    d.add(g)
    return d


def render_progress(view: ProgressReportView) -> bytes:
    """Render a progress report as PDF bytes."""
    st = styles()
    story: list[Flowable] = client_header(
        [
            ("Client", view.client_name),
            ("Date of birth", us_date(view.client_birth_date)),
            ("Client ID", view.client_id),
        ],
        [
            ("Period", f"{us_date(view.period_start)} – {us_date(view.period_end)}"),
            ("Visits", str(len(view.visits))),
            ("Therapist", view.therapist),
        ],
        st,
    )
    story += diagnoses_block(view.diagnoses, st)
    story.append(Paragraph("Goals", st["h2"]))
    rows: list[list[object]] = [["Goal", "Baseline", "Current", "Target", "By", "Status"]]
    rows += [
        [
            Paragraph(esc(g.description), st["cell"]),
            Paragraph(esc(g.baseline), st["cell"]),
            Paragraph(esc(g.current), st["cell"]),
            Paragraph(esc(g.target), st["cell"]),
            us_date(g.target_date),
            g.status,
        ]
        for g in view.goals
    ]
    story.append(table(rows, [w * inch for w in (2.2, 1.05, 1.6, 1.05, 0.75, 0.65)]))
    story.append(Paragraph("Pain and range of motion over the visits", st["h2"]))
    pain = _chart(view, "Pain (0–10)", [v.pain for v in view.visits], 10, 2, "pain, 0–10", PAIN)
    rom_label = f"Range of motion: {view.rom_label}" if view.rom_label else "Range of motion"
    rom = _chart(view, rom_label, [v.rom_degrees for v in view.visits], 90, 15, "degrees (°)", ROM)
    charts = Table([[pain, rom]], colWidths=[WIDTH / 2, WIDTH / 2])
    charts.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 9),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("BOX", (0, 0), (0, 0), 0.4, colors.HexColor("#cbd2d9")),
                ("BOX", (1, 0), (1, 0), 0.4, colors.HexColor("#cbd2d9")),
            ]
        )
    )
    story.append(charts)
    story.append(Paragraph("Visit log", st["h2"]))
    log: list[list[object]] = [["Date", "Pain", "ROM (°)", "Client feedback", "Changes since last visit"]]
    log += [
        [
            us_date(v.date_of_service),
            "" if v.pain is None else f"{v.pain}/10",
            "" if v.rom_degrees is None else str(v.rom_degrees),
            Paragraph(esc(v.client_feedback), st["cell"]),
            Paragraph(esc(v.changes), st["cell"]),
        ]
        for v in view.visits
    ]
    story.append(table(log, [w * inch for w in (0.8, 0.5, 0.6, 2.7, 2.7)], right_cols=(1, 2)))
    if view.summary:
        story += [Paragraph("Assessment of progress", st["h2"]), Paragraph(esc(view.summary), st["body"])]
    if view.plan:
        story += [Paragraph("Plan", st["h2"]), Paragraph(esc(view.plan), st["body"])]
    story += [Spacer(1, 14), signature_line(st, view.therapist)]
    if view.signed_on:
        story.append(Paragraph(f"Report prepared {esc(us_date(view.signed_on))}", st["small"]))
    return build(
        story,
        title="Progress report",
        practice=view.practice,
        document_id=view.report_id,
        subtitle=f"{us_date(view.period_start)} – {us_date(view.period_end)}",
    )
