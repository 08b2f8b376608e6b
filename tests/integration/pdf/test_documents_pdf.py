"""Superbill, statement, receipt, SOAP note and progress report: content, fonts, non-blank pages."""

from __future__ import annotations

import io
from decimal import Decimal

import pdfplumber
import pytest
from pypdf import PdfReader

from tests.integration.pdf import samples
from tests.integration.pdf.conftest import ink_ratio
from therabill.adapters.pdf.note import render_note
from therabill.adapters.pdf.progress import render_progress
from therabill.adapters.pdf.receipt import render_receipt
from therabill.adapters.pdf.statement import render_statement
from therabill.adapters.pdf.superbill import render_superbill
from therabill.domain.forms import FormError, superbill_view


def text_of(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "\n".join(p.extract_text() or "" for p in doc.pages)


def embedded_font_names(pdf: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            desc = (
                font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                if "/DescendantFonts" in font
                else font.get("/FontDescriptor")
            )
            assert desc is not None and "/FontFile2" in desc.get_object(), (
                f"{font['/BaseFont']} is not embedded"
            )
            names.add(str(font["/BaseFont"]))
    return names


RENDERERS = {
    "superbill": (render_superbill, samples.superbill_sample),
    "statement": (render_statement, samples.statement_sample),
    "receipt": (render_receipt, samples.receipt_sample),
    "note": (render_note, samples.note_sample),
    "progress": (render_progress, samples.progress_sample),
}


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    return {name: render(make()) for name, (render, make) in RENDERERS.items()}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_document_embeds_its_fonts_and_renders_non_blank(name, pdfs, render_png):
    pdf = pdfs[name]
    assert pdf.startswith(b"%PDF")
    assert all("DejaVu" in n or "TB" in n for n in embedded_font_names(pdf))
    assert ink_ratio(render_png(pdf, name)) > 0.01


def test_superbill_content(pdfs):
    view = samples.superbill_sample()
    text = text_of(pdfs["superbill"])
    for needle in (
        "Riverside Therapeutic Massage LLC",
        "1234567893",
        "EIN 12-3456789",
        "Ana Lopez, LMT",
        "IL 227.012345",
        "Jane Doe",
        "04/02/1980",
        "M54.50",
        "Low back pain, unspecified",
        "Cervicalgia",
        "97124",
        "97140",
        "11/20/2026 – 11/27/2026",
        "$290.00",
        "Paid by client (card)",
        "$75.00",
        "$215.00",
        "Date",
    ):
        assert needle in text, needle
    assert view.total_charged == sum(s.charge for s in view.services) == Decimal("290.00")
    assert [s.diagnosis_pointers for s in view.services] == ["AB", "C", "AB", "C"]
    assert view.tax_id == "EIN 12-3456789"


def test_superbill_masks_an_ssn_and_refuses_mixed_clients():
    enc = samples.encounter("sole-proprietor-own-npi.json")
    view = superbill_view(
        [samples.claim_of(enc)],
        document_id="SB-1",
        issued_on=samples.AS_OF,
        dx_descriptions={},
        code_descriptions={},
    )
    assert view.tax_id is not None and view.tax_id.startswith("SSN XXXXX")
    other = samples.encounter("workers-comp-visit.json")
    with pytest.raises(FormError) as err:
        superbill_view(
            [samples.claim_of(enc), samples.claim_of(other)],
            document_id="SB-2",
            issued_on=samples.AS_OF,
            dx_descriptions={},
            code_descriptions={},
        )
    assert err.value.problems[0].code == "superbill-mixed-clients"


def test_statement_shows_the_ledger_figures(pdfs):
    text = text_of(pdfs["statement"])
    for needle in (
        "AMOUNT DUE",
        "$145.00",
        "$92.40",
        "$17.60",
        "Aging",
        "Over 90 days",
        "How to pay",
        "P-0042",
    ):
        assert needle in text, needle


def test_receipt_content(pdfs):
    text = text_of(pdfs["receipt"])
    for needle in ("Received with thanks: $30.00", "RC-000981", "card (ending 4242)", "$145.00"):
        assert needle in text, needle


def test_note_has_soap_sections_minutes_regions_and_signature(pdfs):
    text = text_of(pdfs["note"])
    for needle in (
        "S — Subjective",
        "O — Objective",
        "A — Assessment",
        "P — Plan",
        "Pain 6/10",
        "ROM cervical rotation right: 55°",
        "lumbar",
        "myofascial release",
        "97140-59",
        "Goals",
        "Sit 60 minutes without pain above 3/10",
        "Electronically signed by Ana Lopez, LMT",
        "10:00–11:00",
    ):
        assert needle in text, needle
    view = samples.note_sample()
    assert [(s.code, s.minutes, s.units) for s in view.services] == [("97124", 38, 3), ("97140", 22, 1)]


def test_progress_report_goals_and_chart(pdfs):
    view = samples.progress_sample()
    assert [v.pain for v in view.visits] == [7, 6, 6, 5, 4, 3]
    assert [v.rom_degrees for v in view.visits] == [45, 55, 58, 62, 66, 70]
    assert view.goals[0].baseline == "20 min at 6/10" and view.goals[0].target == "60 min at 3/10"
    assert view.goals[0].current.startswith("pain 3/10; cervical rotation right 70°")
    text = text_of(pdfs["progress"])
    for needle in (
        "Pain (0–10)",
        "Range of motion: cervical rotation right",
        "Visit date",
        "Baseline",
        "Current",
        "Target",
        "10/23/2026 – 11/27/2026",
    ):
        assert needle in text, needle
