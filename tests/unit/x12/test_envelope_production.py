"""A production interchange never carries the placeholder envelope."""

from __future__ import annotations

from dataclasses import replace

import pytest

from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.errors import X12Error

REAL = {
    "sender_id": "PRACTICE1",
    "receiver_id": "CLEARHOUSE1",
    "submitter_id": "SUB123",
    "receiver_etin": "ETIN9",
    "contact_phone": "8455550188",
}


def test_test_usage_may_keep_placeholders() -> None:
    EnvelopeSettings().check()


@pytest.mark.parametrize("left", sorted(REAL))
def test_production_refuses_each_placeholder(left: str) -> None:
    settings = replace(
        EnvelopeSettings(), usage_indicator="P", **{k: v for k, v in REAL.items() if k != left}
    )
    with pytest.raises(X12Error) as refused:
        settings.check()
    assert refused.value.code == "x12-placeholder-in-production" and left in str(refused.value)


def test_production_with_real_ids_passes() -> None:
    replace(EnvelopeSettings(), usage_indicator="P", **REAL).check()
