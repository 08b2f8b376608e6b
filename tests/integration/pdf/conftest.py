"""Fixtures of the PDF document tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import require
from tests.integration.db.conftest import engine, pg_databases  # noqa: F401 - SQLite and PostgreSQL


def png_of_first_page(pdf: bytes, tmp_path: Path, name: str = "page") -> Path:
    """Render page 1 of ``pdf`` with pdftoppm (as the docs images are made) and return the PNG."""
    require("pdftoppm", shutil.which("pdftoppm") is not None, "apt-get install poppler-utils")
    src = tmp_path / f"{name}.pdf"
    src.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile", str(src), str(tmp_path / name)],
        check=True,
        timeout=60,
    )
    return tmp_path / f"{name}.png"


def ink_ratio(png: Path) -> float:
    """Share of pixels that are not (near) white."""
    with Image.open(png) as im:
        gray = im.convert("L")
        hist = gray.histogram()
    total = sum(hist)
    return sum(hist[:230]) / total


@pytest.fixture
def render_png(tmp_path: Path):
    def _render(pdf: bytes, name: str = "page") -> Path:
        return png_of_first_page(pdf, tmp_path, name)

    return _render
