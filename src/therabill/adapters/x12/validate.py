"""Validation of an X12 file against the implementation guides, through pyx12.

pyx12 has maps for 837P, 835 and 999 (and other 5010 guides), not for 270/271/276/277
(005010X279A1/X212): those are refused with ``NotValidatable`` instead of a misleading
verdict. pyx12 is an optional dependency (the ``dev`` extra).
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass

from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import SegmentReader

__all__ = ["UNSUPPORTED", "NotValidatable", "ValidationResult", "transaction_types", "validate"]

UNSUPPORTED = {"270": "005010X279A1", "271": "005010X279A1", "276": "005010X212", "277": "005010X212/X214"}


class NotValidatable(X12Error):  # noqa: N818 - reads as a verdict
    """pyx12 has no map for this transaction (or is not installed)."""


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """The validator's verdict.

    Attributes:
        ok: True when pyx12 found no error.
        errors: the error messages, in file order.
        transaction_types: ST01 of each transaction in the file.
    """

    ok: bool
    errors: tuple[str, ...]
    transaction_types: tuple[str, ...]


def transaction_types(text: str) -> tuple[str, ...]:
    """ST01 of every transaction in ``text`` (tokenizes only)."""
    return tuple(seg[1] for seg in SegmentReader(text) if seg[0] == "ST" and len(seg) > 1)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _json_errors(report: str) -> list[str]:
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "err_cde" in node and "err_str" in node:
                out.append(f"{node.get('id', '')} {node['err_cde']}: {node['err_str']}".strip())
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    try:
        walk(json.loads(report))
    except ValueError:
        pass
    return out


def validate(text: str) -> ValidationResult:
    """Validate ``text`` with pyx12.

    Raises:
        NotValidatable: a 270/271/276/277 (pyx12 has no 5010 map for it), or pyx12 missing.
        X12Error: the file cannot even be tokenized.
    """
    types = transaction_types(text)
    unsupported = sorted({t for t in types if t in UNSUPPORTED})
    if unsupported:
        names = ", ".join(f"{t} ({UNSUPPORTED[t]})" for t in unsupported)
        raise NotValidatable(
            f"pyx12 cannot validate {names}: it has no 5010 map for them", code="x12-not-validatable"
        )
    try:
        import pyx12.error_handler  # noqa: F401
        import pyx12.params
        import pyx12.x12n_document
    except ImportError as exc:
        raise NotValidatable(
            "pyx12 is not installed (pip install 'therabill[dev]')", code="x12-validator-missing"
        ) from exc
    logger = logging.getLogger("pyx12")
    handler = _Collect()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR)
    report = io.StringIO()
    try:
        ok = bool(
            pyx12.x12n_document.x12n_document(
                param=pyx12.params.params(),
                src_file=io.StringIO(text),
                fd_997=io.StringIO(),
                fd_html=None,
                fd_json=report,
            )
        )
    except Exception as exc:  # pyx12 raises its own errors (EngineError, X12Error...)
        raise NotValidatable(
            f"pyx12 could not validate this file: {exc}", code="x12-not-validatable"
        ) from exc
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    errors = _json_errors(report.getvalue())
    msgs = [m for m in handler.messages if "Failed to create 999" not in m]
    all_errors = tuple(dict.fromkeys([*errors, *msgs]))
    return ValidationResult(ok and not errors, all_errors, types)
