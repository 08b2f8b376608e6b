"""Put PDFs together for printing, and count a PDF's pages."""

from __future__ import annotations

import io
from collections.abc import Sequence

from pypdf import PdfReader, PdfWriter


def merge_pdfs(documents: Sequence[bytes]) -> bytes:
    """One PDF with the pages of ``documents`` in order ."""
    writer = PdfWriter()
    for data in documents:
        reader = PdfReader(io.BytesIO(data))
        for page in reader.pages:
            writer.add_page(page)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def page_count(data: bytes) -> int:
    """The number of pages of a PDF."""
    return len(PdfReader(io.BytesIO(data)).pages)
