"""Scrubber test fixtures: an empty data folder (so the shipped starter NCCI table is used)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from therabill.refdata.fees import reset_default_fees
from therabill.refdata.ncci import reset_default_ncci


@pytest.fixture(scope="session", autouse=True)
def _empty_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("therabill-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("THERABILL_DATA_DIR", str(path))
        reset_default_ncci()
        reset_default_fees()
        yield path
    reset_default_ncci()
    reset_default_fees()
