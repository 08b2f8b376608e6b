"""Embedded TrueType fonts (DejaVu Sans, Sans Mono) for every document.

The fonts are found in ``THERABILL_FONT_DIR`` when set, else in the Debian
``fonts-dejavu-core`` folder. They are embedded (subset) in each PDF, so a document looks the
same on any reader and prints every character of a name.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from therabill import config
from therabill.domain.errors import Problem, TherabillError

SANS = "TBSans"
SANS_BOLD = "TBSans-Bold"
SANS_OBLIQUE = "TBSans-Oblique"
MONO = "TBMono"

_FILES = {
    SANS: "DejaVuSans.ttf",
    SANS_BOLD: "DejaVuSans-Bold.ttf",
    SANS_OBLIQUE: "DejaVuSans-Oblique.ttf",
    MONO: "DejaVuSansMono.ttf",
}
_SYSTEM_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/local/share/fonts/dejavu",
)


class FontMissingError(TherabillError):
    """The DejaVu fonts are not installed."""

    code = "font-missing"


def font_dir() -> Path:
    """The folder holding the DejaVu TTF files.

    Raises:
        FontMissingError: when no folder holds them.
    """
    candidates = [config.current().font_dir or "", *_SYSTEM_DIRS]
    for d in candidates:
        if d and (Path(d) / _FILES[SANS]).is_file():
            return Path(d)
    raise FontMissingError(
        "the DejaVu fonts are missing",
        (
            Problem(
                "font-missing",
                "THERABILL_FONT_DIR",
                "install fonts-dejavu-core (Debian/Ubuntu) or set THERABILL_FONT_DIR to a folder with DejaVuSans.ttf",
            ),
        ),
    )


@cache
def register_fonts() -> None:
    """Register the fonts with reportlab once (idempotent)."""
    base = font_dir()
    for name, file in _FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(base / file)))
    pdfmetrics.registerFontFamily(
        SANS, normal=SANS, bold=SANS_BOLD, italic=SANS_OBLIQUE, boldItalic=SANS_BOLD
    )
