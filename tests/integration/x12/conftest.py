"""Fixtures of the X12 tests: pyx12 loaded once, claims of the example encounters."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.domain.claim import Claim, build_claim
from therabill.schemas.encounter import parse_encounter
from therabill.service_layer.coding import units_of

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "837p"
CREATED = datetime(2026, 11, 23, 12, 0)
SETTINGS = EnvelopeSettings(
    sender_id="RIVERSIDEMT",
    receiver_id="CLEARHOUSE01",
    submitter_name="Riverside Therapeutic Massage LLC",
    submitter_id="RIV0001",
    contact_name="Billing Office",
    contact_phone="2175550100",
    receiver_name="Example Clearinghouse",
    receiver_etin="CLEARHOUSE01",
    line_break=True,
)


def claim_of(path: Path) -> Claim:
    """The claim of an encounter document."""
    enc = parse_encounter(path.read_bytes())
    return build_claim(enc, units_of(enc.services, enc.payer_profile))


@pytest.fixture(scope="session")
def golden_cases() -> list[Path]:
    return sorted(p for p in GOLDEN.iterdir() if (p / "input.json").exists())


@pytest.fixture(scope="session")
def pyx12_validate() -> Callable[[str], tuple[bool, list[str]]]:
    """Validate X12 text with pyx12 (maps are loaded and cached by pyx12 on first use)."""
    import pyx12.params
    import pyx12.x12n_document

    params = pyx12.params.params()
    logger = logging.getLogger("pyx12")

    def run(text: str) -> tuple[bool, list[str]]:
        messages: list[str] = []

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                messages.append(record.getMessage())

        handler = Collect(logging.ERROR)
        logger.addHandler(handler)
        try:
            ok = pyx12.x12n_document.x12n_document(
                param=params, src_file=io.StringIO(text), fd_997=io.StringIO(), fd_html=None, fd_json=None
            )
        finally:
            logger.removeHandler(handler)
        return bool(ok), messages

    return run
