"""The CMS-1500 PDF: every value sits inside its box (pdfplumber word positions), both modes."""

from __future__ import annotations

import dataclasses
import io

import pdfplumber
import pytest
from pypdf import PdfReader

from tests.integration.pdf.conftest import ink_ratio
from tests.integration.pdf.samples import AS_OF, claim_of, encounter
from tests.integration.pdf.test_cms1500_fields import EXAMPLE_NAMES, eight_line_encounter
from therabill.adapters.pdf.cms1500 import default_layout, render_cms1500
from therabill.domain.forms import cms1500_forms

TOL = 0.6  # points


def words_in(page, rect, *, data_only: bool):
    """Text of the chars fully inside ``rect`` (PDF coordinates, origin bottom left)."""
    x0, y0, x1, y1 = rect
    h = float(page.height)
    chars = [
        c
        for c in page.chars
        if c["x0"] >= x0 - TOL
        and c["x1"] <= x1 + TOL
        and c["top"] >= h - y1 - TOL
        and c["bottom"] <= h - y0 + TOL
        and (not data_only or "Mono" in c["fontname"])
    ]
    chars.sort(key=lambda c: c["x0"])
    return "".join(c["text"] for c in chars)


def test_layout_places_every_box_on_the_page():
    lay = default_layout()
    assert len(lay.fields) > 200
    for fp in lay.fields.values():
        assert 0 <= fp.x and fp.x + fp.width <= 612 and 0 <= fp.y and fp.y + fp.height <= 792, fp.id
        assert 6 <= fp.size <= 12 and fp.format in {"text", "date", "dollars", "cents", "check"}


def test_no_two_fields_overlap():
    fields = sorted(default_layout().fields.values(), key=lambda f: (f.y, f.x))
    for i, a in enumerate(fields):
        for b in fields[i + 1 :]:
            if b.y >= a.y + a.height:
                break
            e = 0.05
            overlap = (
                a.x < b.x + b.width - e
                and b.x < a.x + a.width - e
                and a.y < b.y + b.height - e
                and b.y < a.y + a.height - e
            )
            assert not overlap, (a.id, b.id)


@pytest.mark.parametrize("mode", ["print", "full"])
@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_each_value_sits_inside_its_box(name, mode):
    forms = cms1500_forms(claim_of(encounter(name)), signed_on=AS_OF)
    pdf = render_cms1500(forms, mode)
    lay = default_layout()
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        for key, value in forms[0].fields.items():
            got = words_in(page, lay.fields[key].rect, data_only=True)
            assert got.replace(" ", "") == value.replace(" ", ""), (key, value, got)
        if mode == "print":
            # print mode draws nothing but the data: every char belongs to some field
            placed = sum(len(v.replace(" ", "")) for v in forms[0].fields.values())
            assert len([c for c in page.chars if c["text"].strip()]) == placed


def test_full_mode_draws_the_form_labels_and_embeds_fonts():
    forms = cms1500_forms(claim_of(encounter("clean-60-minute-massage.json")), signed_on=AS_OF)
    pdf = render_cms1500(forms, "full")
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        text = doc.pages[0].extract_text()
    assert (
        "HEALTH INSURANCE CLAIM FORM" in text
        and "PATIENT'S NAME" in text
        and "FEDERAL TAX I.D. NUMBER" in text
    )
    fonts = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"]
    for ref in fonts.values():
        font = ref.get_object()
        desc = (
            font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            if "/DescendantFonts" in font
            else font.get("/FontDescriptor")
        )
        assert desc is not None and "/FontFile2" in desc.get_object(), font["/BaseFont"]


def test_overflow_prints_one_page_per_form():
    forms = cms1500_forms(claim_of(eight_line_encounter()), signed_on=AS_OF)
    assert len(PdfReader(io.BytesIO(render_cms1500(forms, "print"))).pages) == 2


@pytest.mark.parametrize("mode", ["print", "full"])
def test_a_20_character_split_id_fits_box_26(mode):
    claim = dataclasses.replace(claim_of(eight_line_encounter()), claim_id="PRACTICE-2026-000123")
    forms = cms1500_forms(claim, signed_on=AS_OF, overflow="split")
    lay = default_layout()
    with pdfplumber.open(io.BytesIO(render_cms1500(forms, mode))) as doc:
        for page, form in zip(doc.pages, forms, strict=True):
            got = words_in(page, lay.fields["26"].rect, data_only=True)
            assert got.replace(" ", "") == form.fields["26"] and len(got) == 20


def test_unknown_mode_refused():
    forms = cms1500_forms(claim_of(encounter("clean-60-minute-massage.json")), signed_on=AS_OF)
    with pytest.raises(ValueError, match="mode"):
        render_cms1500(forms, "draft")


@pytest.mark.parametrize("mode", ["print", "full"])
def test_renders_to_a_non_blank_png(mode, render_png):
    forms = cms1500_forms(claim_of(encounter("workers-comp-visit.json")), signed_on=AS_OF)
    png = render_png(render_cms1500(forms, mode), f"cms1500-{mode}")
    ratio = ink_ratio(png)
    assert ratio > 0.005
    if mode == "full":
        assert ratio > 0.03  # the grid and labels add ink
