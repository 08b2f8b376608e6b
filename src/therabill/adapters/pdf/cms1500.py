"""The CMS-1500 (02/12) claim form as PDF, in two modes.

* ``print``: the data only, placed for the pre-printed red drop-out form that scanning
  payers require (load the red forms in the printer, print at 100 % / "actual size").
* ``full``: the form's boxes, labels and grid drawn by us (in drop-out red) under the same
  data, for payers that take a PDF or fax, and for review. It is not the official red form:
  payers that scan paper claims reject photocopies and home-drawn forms.

Where each value goes is data (``cms1500_fields.toml``), not code: box id, x, y, width,
height, font size and format, in points on a US-letter page.
"""

from __future__ import annotations

import io
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from reportlab.lib.colors import Color, black
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from therabill.adapters.pdf.fonts import MONO, SANS, SANS_BOLD, register_fonts
from therabill.domain.forms import Cms1500Form

MODES = ("print", "full")
FORM_RED = Color(0.82, 0.13, 0.16)
SHADE = Color(0.99, 0.90, 0.90)
MIN_SIZE = 6.0


@dataclass(frozen=True, slots=True)
class FieldPlacement:
    """Where one box id prints.

    Attributes:
        id: box id (``2``, ``24.1.cpt``, ``25.ein``...).
        x: left edge (points from the page's left edge).
        y: bottom edge (points from the page's bottom edge).
        width: width in points.
        height: height in points.
        size: font size in points.
        format: ``text``, ``date``, ``dollars``, ``cents`` or ``check``.
    """

    id: str
    x: float
    y: float
    width: float
    height: float
    size: float
    format: str

    @property
    def rect(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in PDF points, origin bottom left."""
        return self.x, self.y, self.x + self.width, self.y + self.height


@dataclass(frozen=True, slots=True)
class FormLayout:
    """The placements file.

    Attributes:
        fields: placement by box id.
        boxes: the form's boxes for full mode (dicts with id, label, x, y, width, height).
        labels: small labels for full mode (dicts with text, x, y).
        offset_x: printer offset, points, + to the right.
        offset_y: printer offset, points, + up.
        label_size: font size of labels in full mode.
        meta: the file's [meta] table.
    """

    fields: Mapping[str, FieldPlacement]
    boxes: tuple[Mapping[str, Any], ...]
    labels: tuple[Mapping[str, Any], ...]
    offset_x: float
    offset_y: float
    label_size: float
    meta: Mapping[str, Any]


def _parse_layout(data: Mapping[str, Any]) -> FormLayout:
    page = data.get("page", {})
    fields = {}
    for f in data["field"]:
        fp = FieldPlacement(
            id=str(f["id"]),
            x=float(f["x"]),
            y=float(f["y"]),
            width=float(f["width"]),
            height=float(f["height"]),
            size=float(f.get("size", page.get("font_size", 10))),
            format=str(f.get("format", "text")),
        )
        if fp.id in fields:
            raise ValueError(f"cms1500 layout: field {fp.id} is placed twice")
        fields[fp.id] = fp
    return FormLayout(
        fields=fields,
        boxes=tuple(data.get("box", ())),
        labels=tuple(data.get("label", ())),
        offset_x=float(page.get("offset_x", 0.0)),
        offset_y=float(page.get("offset_y", 0.0)),
        label_size=float(page.get("label_size", 5.5)),
        meta=data.get("meta", {}),
    )


@cache
def default_layout() -> FormLayout:
    """The shipped placements (``cms1500_fields.toml``)."""
    text = resources.files("therabill.adapters.pdf").joinpath("cms1500_fields.toml").read_text("utf-8")
    return _parse_layout(tomllib.loads(text))


def load_layout(path: str | Path | None = None) -> FormLayout:
    """The shipped placements, or a practice's own file (e.g. with printer offsets)."""
    if path is None:
        return default_layout()
    return _parse_layout(tomllib.loads(Path(path).read_text("utf-8")))


def fit(text: str, font: str, size: float, width: float) -> tuple[str, float]:
    """Shrink the font (down to 6 pt) and then cut the text so it fits ``width``."""
    avail = width - 1.0
    while size > MIN_SIZE and stringWidth(text, font, size) > avail:
        size -= 0.5
    while text and stringWidth(text, font, size) > avail:
        text = text[:-1]
    return text, size


def _draw_value(c: Canvas, fp: FieldPlacement, value: str, dx: float, dy: float) -> None:
    text, size = fit(value, MONO, fp.size, fp.width)
    c.setFont(MONO, size)
    baseline = fp.y + dy + (fp.height - size * 0.72) / 2
    if fp.format == "dollars":
        c.drawRightString(fp.x + dx + fp.width - 0.5, baseline, text)
    elif fp.format == "check":
        c.drawCentredString(fp.x + dx + fp.width / 2, baseline, text)
    else:
        c.drawString(fp.x + dx + 0.5, baseline, text)


def _draw_form(c: Canvas, layout: FormLayout) -> None:
    c.saveState()
    c.setStrokeColor(FORM_RED)
    c.setFillColor(FORM_RED)
    # title block
    c.setFont(SANS_BOLD, 9)
    c.drawString(18, 748, "1500")
    c.setFont(SANS_BOLD, 14)
    c.drawString(18, 728, "HEALTH INSURANCE CLAIM FORM")
    c.setFont(SANS, 6)
    c.drawString(18, 719, "APPROVED BY NATIONAL UNIFORM CLAIM COMMITTEE (NUCC) 02/12")
    c.drawRightString(594, 719, "PICA")
    c.drawString(18, 12, "NUCC Instruction Manual available at: www.nucc.org")
    c.setFont(SANS_BOLD, 6)
    c.drawCentredString(306, 12, "PLEASE PRINT OR TYPE")
    c.setFont(SANS, 6)
    c.drawRightString(594, 12, "APPROVED OMB-0938-1197 FORM 1500 (02-12)")
    c.setFont(SANS, 5)
    c.saveState()
    c.translate(603, 728)
    c.rotate(90)
    c.drawString(0, 0, "CARRIER")
    c.restoreState()
    c.setFont(SANS, 5)
    # service-line shading (the upper half of each line is the shaded supplemental area)
    for n in range(1, 7):
        c.setFillColor(SHADE)
        y = 786.0 - (43 + 2 * n) * 12
        c.rect(18, y, 576, 12, stroke=0, fill=1)
    c.setFillColor(FORM_RED)
    c.setLineWidth(0.6)
    for box in layout.boxes:
        x, y, w, h = float(box["x"]), float(box["y"]), float(box["width"]), float(box["height"])
        c.rect(x, y, w, h, stroke=1, fill=0)
        label = str(box["label"])
        c.setFont(SANS, layout.label_size)
        lines = _wrap(label, w - 3, layout.label_size)
        for i, ln in enumerate(lines[:3]):
            c.drawString(x + 1.5, y + h - layout.label_size - 1 - i * (layout.label_size + 0.8), ln)
    # service-line separators
    c.setLineWidth(0.3)
    for n in range(7):
        y = 786.0 - (44 + 2 * n) * 12
        c.line(18, y, 594, y)
    c.setFont(SANS, layout.label_size + 0.5)
    for lab in layout.labels:
        c.drawString(float(lab["x"]), float(lab["y"]), str(lab["text"]))
    # dotted line between dollars and cents
    c.setDash(1, 1.5)
    for fp in layout.fields.values():
        if fp.format == "cents":
            c.line(fp.x - 1.5, fp.y + 1, fp.x - 1.5, fp.y + fp.height - 1)
    c.setDash()
    # check boxes
    c.setLineWidth(0.5)
    for fp in layout.fields.values():
        if fp.format == "check":
            s = 7.0
            c.rect(fp.x + (fp.width - s) / 2, fp.y + (fp.height - s) / 2, s, s, stroke=1, fill=0)
    c.restoreState()


def _wrap(text: str, width: float, size: float) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        trial = f"{cur} {w}".strip()
        if stringWidth(trial, SANS, size) <= width or not cur:
            cur = trial
        else:
            lines.append(cur)
            cur = w
    if cur:
        lines.append(cur)
    return lines


def render_cms1500(
    forms: Sequence[Cms1500Form],
    mode: str = "print",
    layout: FormLayout | None = None,
) -> bytes:
    """Render filled forms as one PDF, one page per form.

    Args:
        forms: the forms (``therabill.domain.forms.cms1500_forms``).
        mode: ``print`` (data only) or ``full`` (form drawn under the data).
        layout: placements; the shipped file by default.

    Raises:
        ValueError: for an unknown mode, or a box id the layout does not place.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    lay = layout or default_layout()
    unplaced = sorted({k for f in forms for k in f.fields} - set(lay.fields))
    if unplaced:
        raise ValueError(f"the layout does not place box(es) {', '.join(unplaced)}")
    register_fonts()
    buf = io.BytesIO()
    c = Canvas(
        buf, pagesize=(612, 792), pageCompression=1, invariant=1, initialFontName=MONO, initialFontSize=10
    )
    c.setTitle("CMS-1500 claim form")
    c.setCreator("therabill")
    for form in forms:
        if mode == "full":
            _draw_form(c, lay)
        c.setFillColor(black)
        dx, dy = (0.0, 0.0) if mode == "full" else (lay.offset_x, lay.offset_y)
        for key, value in form.fields.items():
            _draw_value(c, lay.fields[key], value, dx, dy)
        c.showPage()
    c.save()
    return buf.getvalue()


def placed_boxes(layout: FormLayout | None = None) -> Iterable[str]:
    """Every box id the layout places."""
    return (layout or default_layout()).fields.keys()
