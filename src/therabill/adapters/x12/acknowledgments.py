"""TA1, 999 (005010X231A1) and 277CA (005010X214) readers.

``read_acknowledgments(source)`` yields one ``Acknowledgment`` per TA1 segment, per 999
functional group response (AK1..AK9) and per 277CA transaction, whatever mix the file has.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import SegmentReader, Source
from therabill.adapters.x12.values import Envelope, amount, el
from therabill.domain.acknowledgment import (
    AckError,
    Acknowledgment,
    ClaimAck,
    TransactionAck,
    category_accepted,
)

__all__ = ["read_acknowledgments"]

TA1_STATUS = {
    "A": "interchange accepted",
    "E": "interchange accepted with errors",
    "R": "interchange rejected",
}
AK9_STATUS = {
    "A": "group accepted",
    "E": "group accepted, but errors were noted",
    "M": "group rejected, message authentication code failed",
    "P": "group partially accepted: at least one transaction was rejected",
    "R": "group rejected",
    "W": "group rejected, assurance failed",
    "X": "group rejected, content after decryption could not be analysed",
}
IK3_CODES = {
    "1": "unrecognized segment id",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
    "I4": "implementation 'not used' segment present",
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under minimum times",
    "I8": "implementation segment below minimum use",
    "I9": "implementation dependent 'not used' segment present",
}
IK4_CODES = {
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I10": "implementation 'not used' data element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' data element present",
    "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing",
}
TA1_NOTES = {
    "000": "no error",
    "001": "the interchange control number in the header and trailer do not match",
    "006": "invalid interchange sender id qualifier",
    "007": "invalid interchange sender id",
    "008": "invalid interchange receiver id qualifier",
    "009": "invalid interchange receiver id",
    "014": "invalid interchange date",
    "015": "invalid interchange time",
    "018": "invalid interchange control number",
    "020": "invalid test indicator value",
    "021": "invalid number of included groups value",
    "022": "invalid control structure",
    "023": "improper (premature) end-of-file",
    "024": "invalid interchange content (e.g. invalid GS segment)",
    "025": "duplicate interchange control number",
}
CATEGORY_WORDS = {
    "A0": "forwarded to another entity",
    "A1": "received",
    "A2": "accepted into the adjudication system",
    "A3": "returned as unprocessable",
    "A4": "not found",
    "A5": "split claim",
    "A6": "rejected for missing information",
    "A7": "rejected for invalid information",
    "A8": "rejected for relational field in error",
}


def read_acknowledgments(source: Source) -> Iterator[Acknowledgment]:
    """Read every TA1, 999 group response and 277CA transaction of ``source``.

    Raises:
        X12Error: input that is not usable X12.
    """
    reader = SegmentReader(source)
    try:
        yield from _read(reader)
    except X12Error:
        raise
    except Exception as exc:  # a defect here must still not escape as a traceback
        raise X12Error(
            f"unreadable segment ({type(exc).__name__}: {exc})",
            code="x12-internal",
            segment_number=reader.number,
        ) from exc


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _read(reader: SegmentReader) -> Iterator[Acknowledgment]:  # noqa: C901
    env = Envelope()
    kind = ""
    n = 0
    seen = False
    # 999 state
    group_ctl: str | None = None
    txs: list[TransactionAck] = []
    tx_type = tx_ctl = ""
    tx_errors: list[AckError] = []
    last_ik3: tuple[str | None, int | None] = (None, None)
    # 277CA state
    claims: list[ClaimAck] = []
    claim_id: str | None = None
    pcn: str | None = None
    for seg in reader:
        n = reader.number
        sid = seg[0]
        comp = reader.delimiters.component
        if sid == "TA1":
            seen = True
            status = el(seg, 4)
            note = el(seg, 5)
            errors: tuple[AckError, ...] = (
                ()
                if note in ("", "000")
                else (AckError(None, None, None, note, TA1_NOTES.get(note, f"note {note}")),)
            )
            yield Acknowledgment(
                "TA1", el(seg, 1), None, status, status in ("A", "E"), TA1_STATUS.get(status, status), errors
            )
            continue
        if sid in ("ISA", "GS", "GE", "IEA"):
            env.handle(seg, n)
            continue
        if sid == "ST":
            env.st(seg, n)
            kind = {"999": "999", "277": "277CA"}.get(el(seg, 1), "")
            seen = seen or bool(kind)
            txs, claims, claim_id, pcn = [], [], None, None
            continue
        if sid == "SE":
            env.se(seg, n)
            if kind == "277CA":
                accepted = all(c.accepted for c in claims)
                yield Acknowledgment(
                    "277CA",
                    env.interchange_control_number,
                    env.group_control_number,
                    "A" if accepted else "R",
                    accepted,
                    "all claims accepted" if accepted else "at least one claim rejected",
                    claims=tuple(claims),
                )
            kind = ""
            continue
        if not env.in_transaction:
            raise X12Error(
                f"{sid} outside a transaction set", code="x12-envelope", segment_number=n, segment_id=sid
            )
        if kind == "999":
            if sid == "AK1":
                group_ctl, txs = el(seg, 2), []
            elif sid == "AK2":
                tx_type, tx_ctl, tx_errors = el(seg, 1), el(seg, 2), []
            elif sid == "IK3":
                last_ik3 = (el(seg, 1) or None, _int(el(seg, 2)))
                code = el(seg, 4)
                tx_errors.append(
                    AckError(last_ik3[0], last_ik3[1], None, code, IK3_CODES.get(code, f"error {code}"))
                )
            elif sid == "IK4":
                code = el(seg, 3)
                tx_errors.append(
                    AckError(
                        last_ik3[0],
                        last_ik3[1],
                        el(seg, 1) or None,
                        code,
                        IK4_CODES.get(code, f"error {code}"),
                        el(seg, 4) or None,
                    )
                )
            elif sid == "IK5":
                status = el(seg, 1)
                codes = tuple(el(seg, i) for i in range(2, 7) if el(seg, i))
                txs.append(
                    TransactionAck(tx_type, tx_ctl, status, status in ("A", "E"), tuple(tx_errors), codes)
                )
            elif sid == "AK9":
                status = el(seg, 1)
                codes = tuple(el(seg, i) for i in range(5, 10) if el(seg, i))
                errors = tuple(AckError(None, None, None, c, f"group error {c}") for c in codes)
                yield Acknowledgment(
                    "999",
                    env.interchange_control_number,
                    group_ctl,
                    status,
                    status in ("A", "E", "P"),
                    AK9_STATUS.get(status, status),
                    errors,
                    tuple(txs),
                )
        elif kind == "277CA":
            if sid == "HL" and el(seg, 3) == "PT":
                claim_id, pcn = None, None
            elif sid == "TRN" and el(seg, 1) == "2":
                claim_id = el(seg, 2) or None
            elif sid == "REF" and el(seg, 1) == "1K":
                pcn = el(seg, 2) or None
                if (
                    claims
                    and claims[-1].claim_id == claim_id
                    and claims[-1].payer_claim_control_number is None
                ):
                    c = claims[-1]
                    claims[-1] = ClaimAck(
                        c.claim_id, pcn, c.category, c.status_code, c.entity, c.accepted, c.words, c.amount
                    )
            elif sid == "STC" and claim_id is not None:
                parts = el(seg, 1).split(comp)
                category = parts[0]
                status_code = parts[1] if len(parts) > 1 else ""
                entity = parts[2] if len(parts) > 2 and parts[2] else None
                amt: Decimal | None = amount(seg, 4, n) if el(seg, 4) else None
                claims.append(
                    ClaimAck(
                        claim_id,
                        pcn,
                        category,
                        status_code,
                        entity,
                        category_accepted(category),
                        CATEGORY_WORDS.get(category, f"category {category}"),
                        amt,
                    )
                )
    env.end(n)
    if not seen:
        raise X12Error("the file holds no TA1, 999 or 277CA", code="x12-wrong-transaction", segment_number=n)
