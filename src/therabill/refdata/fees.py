"""Fee schedules: the practice's fees and the Medicare PFS amounts, for estimates.

A fee schedule file is a CSV (``#`` lines are comments) with the columns
``code, practice_fee, medicare_amount, effective_from, effective_to, source``; either
amount may be empty, dates are ISO (``effective_to`` empty = open). The shipped
``fee_schedule_sample.csv`` shows the shape with historical sample amounts; a practice
imports its own with ``therabill refdata import-fees FILE`` (kept in ``refdata.sqlite3`` of
the data folder, replacing the previous import). Amounts are ``Decimal``, never float.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from therabill import config
from therabill.config import data_dir
from therabill.domain.errors import Problem, ReferenceDataError
from therabill.domain.money import MAX_AMOUNT
from therabill.refdata import pfs as pfs_data
from therabill.refdata.ncci import REFDATA_DB

__all__ = [
    "Fee",
    "FeeSchedule",
    "default_fees",
    "import_fees",
    "parse_fees",
    "reset_default_fees",
    "sample_fees",
]

_COLUMNS = ("code", "practice_fee", "medicare_amount", "effective_from", "effective_to", "source")


@dataclass(frozen=True, slots=True)
class Fee:
    """The fees of one code for a period.

    Attributes:
        code: CPT/HCPCS code.
        practice_fee: the practice's fee for one unit.
        medicare_amount: the Medicare PFS amount for one unit (the practice's locality).
        effective_from: first date of service.
        effective_to: last date of service, or ``None`` (open).
        source: where the amounts come from.
    """

    code: str
    practice_fee: Decimal | None
    medicare_amount: Decimal | None
    effective_from: date
    effective_to: date | None
    source: str

    def covers(self, day: date) -> bool:
        """True when the fee applies on ``day``."""
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Fees by code.

    Attributes:
        name: what the schedule is (file name).
        fees: code → its fees, newest first.
    """

    name: str
    fees: Mapping[str, tuple[Fee, ...]]

    def fee(self, code: str, day: date) -> Fee | None:
        """The fee row of ``code`` in effect on ``day``."""
        for f in self.fees.get(code, ()):
            if f.covers(day):
                return f
        return None

    def medicare_amount(self, code: str, day: date) -> Decimal | None:
        """The Medicare PFS amount of one unit of ``code`` on ``day``, if known.

        A row in effect without a Medicare amount (the practice's fee only) falls through to
        the next row in effect that has one (an imported PFS file's amount).
        """
        for f in self.fees.get(code, ()):
            if f.covers(day) and f.medicare_amount is not None:
                return f.medicare_amount
        return None

    def practice_fee(self, code: str, day: date) -> Decimal | None:
        """The practice's fee for one unit of ``code`` on ``day``, if known."""
        for f in self.fees.get(code, ()):
            if f.covers(day) and f.practice_fee is not None:
                return f.practice_fee
        return None


def _money(text: str, where: str) -> Decimal | None:
    t = text.strip()
    if not t:
        return None
    try:
        value = Decimal(t)
    except InvalidOperation:
        raise ReferenceDataError(
            f"{where}: {t!r} is not an amount",
            (Problem("refdata-fee-invalid", where, f"{t!r} is not an amount"),),
        ) from None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise ReferenceDataError(
            f"{where}: amount {t[:20]} must be zero to {MAX_AMOUNT}",
            (Problem("refdata-fee-invalid", where, f"must be zero to {MAX_AMOUNT}"),),
        )
    return value.quantize(Decimal("0.01"))


def _iso(text: str, where: str) -> date | None:
    t = text.strip()
    if not t:
        return None
    try:
        return date.fromisoformat(t)
    except ValueError:
        raise ReferenceDataError(f"{where}: {t!r} is not an ISO date") from None


def parse_fees(lines: Iterable[str], name: str) -> list[Fee]:
    """Parse fee schedule CSV lines.

    Raises:
        ReferenceDataError: a missing column, a bad amount or date (naming the row).
    """
    reader = csv.DictReader(line for line in lines if not line.lstrip().startswith("#"))
    missing = [c for c in _COLUMNS[:4] if c not in (reader.fieldnames or ())]
    if missing:
        raise ReferenceDataError(f"{name}: missing column(s) {', '.join(missing)}")
    out = []
    for i, row in enumerate(reader, start=2):
        where = f"{name} row {i}"
        code = (row.get("code") or "").strip()
        if not code:
            raise ReferenceDataError(f"{where}: code is empty")
        start = _iso(row.get("effective_from") or "", where)
        if start is None:
            raise ReferenceDataError(f"{where}: effective_from is required")
        out.append(
            Fee(
                code,
                _money(row.get("practice_fee") or "", where),
                _money(row.get("medicare_amount") or "", where),
                start,
                _iso(row.get("effective_to") or "", where),
                (row.get("source") or name).strip(),
            )
        )
    return out


def schedule_of(fees: Iterable[Fee], name: str) -> FeeSchedule:
    """Index fee rows by code, newest first."""
    by: dict[str, list[Fee]] = {}
    for f in fees:
        by.setdefault(f.code, []).append(f)
    return FeeSchedule(
        name,
        MappingProxyType(
            {c: tuple(sorted(v, key=lambda f: f.effective_from, reverse=True)) for c, v in by.items()}
        ),
    )


def sample_fees() -> FeeSchedule:
    """The shipped sample schedule (historical sample amounts; not for real estimates)."""
    with (
        resources.files("therabill.refdata")
        .joinpath("data", "fee_schedule_sample.csv")
        .open("r", encoding="utf-8") as fh
    ):
        return schedule_of(parse_fees(fh, "fee_schedule_sample.csv"), "fee_schedule_sample.csv")


def import_fees(path: Path, base: Path | None = None) -> int:
    """Replace the imported fee schedule with ``path`` (all rows or nothing)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            fees = parse_fees(fh, path.name)
    except OSError as exc:
        raise ReferenceDataError(f"cannot read {path}: {exc.strerror}") from None
    con = sqlite3.connect((base or data_dir()) / REFDATA_DB, isolation_level=None)
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS fees (code TEXT NOT NULL, practice_fee TEXT, medicare_amount TEXT, "
            "effective_from TEXT NOT NULL, effective_to TEXT, source TEXT, file TEXT)"
        )
        con.execute("BEGIN IMMEDIATE")
        con.execute("DELETE FROM fees")
        con.executemany(
            "INSERT INTO fees VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    f.code,
                    None if f.practice_fee is None else str(f.practice_fee),
                    None if f.medicare_amount is None else str(f.medicare_amount),
                    f.effective_from.isoformat(),
                    None if f.effective_to is None else f.effective_to.isoformat(),
                    f.source,
                    path.name,
                )
                for f in fees
            ),
        )
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    reset_default_fees()
    return len(fees)


def _pfs_fees() -> list[Fee]:
    """Fee rows from the imported PFS files: the national non-facility amount per code."""
    pfs = pfs_data.default_pfs()
    if pfs is None:
        return []
    return [
        Fee(
            r.code,
            None,
            r.amount,
            r.effective,
            pfs.until(r.effective),
            f"CMS PFS {r.source} (national, no GPCI)",
        )
        for r in pfs.rows
        if r.conversion_factor > 0
    ]


@lru_cache(maxsize=8)
def _default_for(env_dir: str | None) -> FeeSchedule | None:  # noqa: ARG001 - the cache key
    db = data_dir() / REFDATA_DB
    if not db.is_file():
        return None
    con = sqlite3.connect(db)
    try:
        try:
            rows = con.execute(
                "SELECT code, practice_fee, medicare_amount, effective_from, effective_to, source, file FROM fees"
            ).fetchall()
        except sqlite3.OperationalError:
            rows = []
    finally:
        con.close()
    fees = [
        Fee(
            r[0],
            None if r[1] is None else Decimal(r[1]),
            None if r[2] is None else Decimal(r[2]),
            date.fromisoformat(r[3]),
            None if r[4] is None else date.fromisoformat(r[4]),
            r[5] or r[6],
        )
        for r in rows
    ]
    pfs = _pfs_fees()
    if not fees and not pfs:
        return None
    if not fees:
        return schedule_of(pfs, "CMS PFS amounts (imported PPRRVU)")
    name = f"imported fee schedule {rows[0][6]}" + (" with CMS PFS amounts" if pfs else "")
    return schedule_of([*fees, *pfs], name)


def default_fees() -> FeeSchedule | None:
    """The imported fee schedule of the data folder, or ``None`` (cached per process)."""
    return _default_for(config.current().data_dir)


def reset_default_fees() -> None:
    """Forget the cached default schedule."""
    _default_for.cache_clear()
