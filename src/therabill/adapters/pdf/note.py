"""The SOAP visit note, for referring physicians, audits and the client's record."""

from __future__ import annotations

from reportlab.lib.units import inch
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from therabill.adapters.pdf.layout import (
    build,
    client_header,
    diagnoses_block,
    esc,
    signature_line,
    styles,
    table,
    us_date,
)
from therabill.domain.forms import NoteView


def _section(title: str, text: str, st: dict) -> list[Flowable]:  # type: ignore[type-arg]
    return [Paragraph(esc(title), st["h2"]), Paragraph(esc(text) if text else "—", st["body"])]


def render_note(view: NoteView) -> bytes:
    """Render a SOAP note as PDF bytes."""
    st = styles()
    session = ""
    if view.start_time and view.end_time:
        session = f"{view.start_time}–{view.end_time}"
    story: list[Flowable] = client_header(
        [
            ("Client", view.client_name),
            ("Date of birth", us_date(view.client_birth_date)),
            ("Client ID", view.client_id),
        ],
        [
            ("Date of service", us_date(view.date_of_service)),
            ("Session", session),
            ("Therapist", view.therapist),
            ("License", view.license or ""),
        ],
        st,
    )
    story += diagnoses_block(view.diagnoses, st)
    story += _section("S — Subjective", view.subjective, st)
    obj = "<br/>".join(esc(x) for x in view.objective_lines) or "—"
    story += [Paragraph("O — Objective", st["h2"]), Paragraph(obj, st["body"])]
    if view.pre_session:
        story.append(Paragraph(f"<i>Pre-session assessment:</i> {esc(view.pre_session)}", st["body"]))
    story.append(Paragraph("Treatment", st["h2"]))
    rows: list[list[object]] = [["Code", "Description", "Minutes", "Units", "Regions", "Techniques"]]
    rows += [
        [
            s.code + (f"-{'-'.join(s.modifiers)}" if s.modifiers else ""),
            Paragraph(esc(s.description), st["cell"]),
            str(s.minutes),
            str(s.units),
            Paragraph(esc(", ".join(r.replace("_", " ") for r in s.body_regions)), st["cell"]),
            Paragraph(esc(", ".join(s.techniques)), st["cell"]),
        ]
        for s in view.services
    ]
    rows.append(
        [
            "Total",
            "",
            str(sum(s.minutes for s in view.services)),
            str(sum(s.units for s in view.services)),
            "",
            "",
        ]
    )
    story.append(
        table(rows, [w * inch for w in (0.8, 2.5, 0.6, 0.5, 1.2, 1.7)], right_cols=(2, 3), total_row=True)
    )
    story += _section("A — Assessment", view.assessment, st)
    if view.medical_necessity:
        story.append(Paragraph(f"<i>Medical necessity:</i> {esc(view.medical_necessity)}", st["body"]))
    story += _section("P — Plan", view.plan, st)
    if view.post_session:
        story.append(Paragraph(f"<i>Home care advice:</i> {esc(view.post_session)}", st["body"]))
    if view.client_feedback or view.changes:
        story.append(Paragraph("Client feedback and changes", st["h2"]))
        if view.client_feedback:
            story.append(Paragraph(esc(view.client_feedback), st["body"]))
        if view.changes:
            story.append(Paragraph(f"<i>Since last visit:</i> {esc(view.changes)}", st["body"]))
    if view.goals:
        story.append(Paragraph("Goals", st["h2"]))
        grows: list[list[object]] = [["Goal", "Baseline", "Target", "By"]]
        grows += [
            [Paragraph(esc(g), st["cell"]), Paragraph(esc(b), st["cell"]), Paragraph(esc(t), st["cell"]), d]
            for g, b, t, d in view.goals
        ]
        story.append(table(grows, [w * inch for w in (3.1, 1.6, 1.6, 1.0)]))
    signed = f"Electronically signed by {view.signed_by}" if view.signed_by and view.signed_on else ""
    story += [Spacer(1, 14), KeepTogether([signature_line(st, view.therapist, signed)])]
    if view.signed_on:
        story.append(Paragraph(f"Signed {esc(us_date(view.signed_on))}", st["small"]))
    return build(
        story,
        title="Visit note",
        practice=view.practice,
        document_id=view.visit_id,
        subtitle=f"SOAP note · {us_date(view.date_of_service)}",
    )
