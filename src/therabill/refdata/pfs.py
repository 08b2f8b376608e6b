"""The CMS Physician Fee Schedule relative value file (PPRRVU): status indicators, RVUs,
conversion factor and the multiple-procedure indicator, by code and date.

``therabill refdata import-pfs PPRRVU26_JAN.csv`` (or the RVU zip CMS distributes, which
holds it) loads one file into the ``pfs`` table of ``refdata.sqlite3``. Each imported file is
one table, in force from its effective date (from the name: ``PPRRVU26_JAN`` → 2026-01-01,
``_APR`` → April 1, ``_JUL`` → July 1, ``_OCT`` → October 1, or given) until the next file's.

What it feeds:

* the status indicator of a code on a date of service (A active, B bundled, I not valid for
  Medicare, N non-covered, ...), which replaces the code catalog's unverified values;
* the national non-facility Medicare amount of one unit, ``(work + non-facility PE + MP)
  RVUs × conversion factor`` (no GPCI: the locality adjustment needs the GPCI file), used by
  the fee schedule where it has no Medicare amount of its own;
* the multiple-procedure indicator (``5``: the practice-expense part of the second and later
  units of "always therapy" services is paid at 50%, the MPPR).

File layout read (CMS PPRRVU CSV/text; positions of the RVU file's record layout [M]: check
against the RVUxx readme when CMS changes it): a title and copyright header, then rows
``HCPCS, MOD, DESCRIPTION, STATUS CODE, NOT USED FOR MEDICARE PAYMENT, WORK RVU, NON-FAC PE
RVU, NON-FAC NA INDICATOR, FACILITY PE RVU, FACILITY NA INDICATOR, MP RVU, NON-FACILITY TOTAL,
FACILITY TOTAL, PCTC IND, GLOB DAYS, PRE OP, INTRA OP, POST OP, MULT PROC, BILAT SURG, ASST
SURG, CO-SURG, TEAM SURG, ENDO BASE, CONV FACTOR, ...``. Rows with a modifier (26, TC, 53)
are not kept: therapy codes have no professional/technical split.
"""

from __future__ import annotations

import bisect
import re
import sqlite3
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from therabill import config
from therabill.clock import current_time
from therabill.config import data_dir
from therabill.domain.errors import Problem, ReferenceDataError
from therabill.refdata import fees as fee_schedules
from therabill.refdata.ncci import REFDATA_DB, cms_records

__all__ = ["PfsRow", "PfsStore", "default_pfs", "import_pfs", "parse_pfs", "reset_default_pfs"]

_CODE = re.compile(r"^[0-9A-Z]{4}[0-9A-Z]$")
_NAME = re.compile(r"PPRRVU(\d{2})_?(JAN|APR|JUL|OCT)", re.IGNORECASE)
_QUARTER = {"JAN": 1, "APR": 4, "JUL": 7, "OCT": 10}
_STATUS = frozenset("ABCDEFGHIJMNPRTX")
# 0-based positions in the PPRRVU record
_HCPCS, _MOD, _DESC, _STAT, _WORK, _PE_NF, _MP, _TOTAL_NF, _PCTC, _MULT, _CF = (
    0,
    1,
    2,
    3,
    5,
    6,
    10,
    11,
    13,
    18,
    24,
)


@dataclass(frozen=True, slots=True)
class PfsRow:
    """One code of the PFS relative value file.

    Attributes:
        code: the HCPCS/CPT code.
        status: the PFS status indicator.
        work: work RVU.
        pe_nonfacility: non-facility practice-expense RVU.
        mp: malpractice RVU.
        conversion_factor: the file's conversion factor.
        pctc: the PC/TC indicator.
        mult_proc: the multiple-procedure indicator (``5``: therapy MPPR).
        effective: the date the file took effect.
        source: the file it came from.
    """

    code: str
    status: str
    work: Decimal
    pe_nonfacility: Decimal
    mp: Decimal
    conversion_factor: Decimal
    pctc: str
    mult_proc: str
    effective: date
    source: str

    @property
    def amount(self) -> Decimal:
        """National non-facility amount of one unit (no GPCI), to the cent."""
        return ((self.work + self.pe_nonfacility + self.mp) * self.conversion_factor).quantize(
            Decimal("0.01")
        )

    @property
    def mppr_amount(self) -> Decimal:
        """The amount of a unit after the therapy MPPR (practice expense at 50%), to the cent."""
        pe = self.pe_nonfacility / 2
        return ((self.work + pe + self.mp) * self.conversion_factor).quantize(Decimal("0.01"))


def effective_from_name(name: str) -> date | None:
    """The effective date in a PPRRVU file name (``PPRRVU26_JAN`` → 2026-01-01), if any."""
    m = _NAME.search(name)
    return date(2000 + int(m.group(1)), _QUARTER[m.group(2).upper()], 1) if m else None


def _dec(text: str, where: str, what: str) -> Decimal:
    t = text.strip() or "0"
    try:
        return Decimal(t)
    except InvalidOperation:
        raise ReferenceDataError(
            f"{where}: {what} {text!r} is not a number",
            (Problem("refdata-pfs-row-invalid", where, f"bad {what}"),),
        ) from None


def parse_pfs(path: Path, effective: date | None = None) -> list[PfsRow]:
    """Read a CMS PPRRVU file (CSV or text, or the zip holding it), skipping its header.

    Raises:
        ReferenceDataError: no effective date, a malformed row, or no data row.
    """
    out: list[PfsRow] = []
    for name, lineno, f in cms_records(path):
        if len(f) <= _MULT or not _CODE.match(f[_HCPCS]):
            continue
        if not _NAME.search(name) and not _NAME.search(path.name) and effective is None:
            raise ReferenceDataError(
                f"{path.name}: the name has no PPRRVU<yy>_<JAN|APR|JUL|OCT>; give the effective date (--effective)",
                (Problem("refdata-pfs-date-missing", path.name, "no date in the name"),),
            )
        if f[_MOD]:
            continue  # 26/TC/53 rows
        where = f"{name} line {lineno}"
        status = f[_STAT].upper()
        if len(status) != 1 or status not in _STATUS:
            raise ReferenceDataError(
                f"{where}: status code {f[_STAT]!r} is not a PFS status indicator",
                (Problem("refdata-pfs-row-invalid", where, "bad status code"),),
            )
        eff = effective or effective_from_name(name) or effective_from_name(path.name)
        assert eff is not None
        cf = _dec(f[_CF], where, "conversion factor") if len(f) > _CF else Decimal(0)
        out.append(
            PfsRow(
                f[_HCPCS],
                status,
                _dec(f[_WORK], where, "work RVU"),
                _dec(f[_PE_NF], where, "non-facility PE RVU"),
                _dec(f[_MP], where, "MP RVU"),
                cf,
                f[_PCTC],
                f[_MULT],
                eff,
                name,
            )
        )
    if not out:
        raise ReferenceDataError(f"{path.name}: no PFS rows found (is this a CMS PPRRVU file?)")
    return out


_TABLE = """CREATE TABLE IF NOT EXISTS pfs (
    code TEXT NOT NULL, status TEXT NOT NULL, work TEXT NOT NULL, pe_nonfacility TEXT NOT NULL,
    mp TEXT NOT NULL, conversion_factor TEXT NOT NULL, pctc TEXT, mult_proc TEXT,
    effective INTEGER NOT NULL, source TEXT)"""


def _ymd(d: date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def import_pfs(path: Path, effective: date | None = None, base: Path | None = None) -> int:
    """Add one PPRRVU file (replacing a file of the same effective date); all rows or nothing.

    Returns:
        The number of codes imported.
    """
    rows = parse_pfs(path, effective)
    eff = _ymd(rows[0].effective)
    con = sqlite3.connect((base or data_dir()) / REFDATA_DB, isolation_level=None)
    try:
        con.execute(_TABLE)
        con.execute("CREATE INDEX IF NOT EXISTS pfs_code ON pfs (code, effective)")
        con.execute(
            "CREATE TABLE IF NOT EXISTS imports (kind TEXT NOT NULL, files TEXT NOT NULL, "
            "row_count INTEGER NOT NULL, imported_at TEXT NOT NULL)"
        )
        con.execute("BEGIN IMMEDIATE")
        con.execute("DELETE FROM pfs WHERE effective = ?", (eff,))
        con.executemany(
            "INSERT INTO pfs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (r.code, r.status, str(r.work), str(r.pe_nonfacility), str(r.mp), str(r.conversion_factor),
                 r.pctc, r.mult_proc, eff, r.source)
                for r in rows
            ),
        )  # fmt: skip
        con.execute("DELETE FROM imports WHERE kind = ?", (f"pfs {eff}",))
        con.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?)",
            (f"pfs {eff}", path.name, len(rows), current_time().isoformat(timespec="seconds")),
        )
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    reset_default_pfs()
    fee_schedules.reset_default_fees()
    return len(rows)


class PfsStore:
    """The imported PFS tables, each in force from its effective date until the next one's."""

    def __init__(self, rows: list[PfsRow]) -> None:
        """Index ``rows`` by code and table date."""
        self._by_code: dict[tuple[str, date], PfsRow] = {(r.code, r.effective): r for r in rows}
        self.tables = sorted({r.effective for r in rows})
        files = sorted({(r.effective, r.source) for r in rows})
        self.source = "CMS PFS relative value file(s) " + ", ".join(f"{s} (from {e})" for e, s in files)
        self.rows = rows

    def table_on(self, day: date) -> date | None:
        """The effective date of the table in force on ``day``, if any."""
        i = bisect.bisect_right(self.tables, day)
        return self.tables[i - 1] if i else None

    def row(self, code: str, day: date) -> PfsRow | None:
        """The PFS row of ``code`` in the table in force on ``day``."""
        table = self.table_on(day)
        return None if table is None else self._by_code.get((code, table))

    def until(self, table: date) -> date | None:
        """The last day ``table`` is in force (the day before the next table), or ``None``."""
        i = bisect.bisect_right(self.tables, table)
        if i < len(self.tables):
            nxt = self.tables[i]
            return date.fromordinal(nxt.toordinal() - 1)
        return None


@lru_cache(maxsize=8)
def _default_for(env_dir: str | None) -> PfsStore | None:  # noqa: ARG001 - the cache key
    db = data_dir() / REFDATA_DB
    if not db.is_file():
        return None
    con = sqlite3.connect(db)
    try:
        try:
            raw = con.execute(
                "SELECT code, status, work, pe_nonfacility, mp, conversion_factor, pctc, mult_proc, "
                "effective, source FROM pfs"
            ).fetchall()
        except sqlite3.OperationalError:
            return None
    finally:
        con.close()
    if not raw:
        return None
    rows = [
        PfsRow(r[0], r[1], Decimal(r[2]), Decimal(r[3]), Decimal(r[4]), Decimal(r[5]), r[6] or "", r[7] or "",
               date(r[8] // 10000, r[8] // 100 % 100, r[8] % 100), r[9] or "")
        for r in raw
    ]  # fmt: skip
    return PfsStore(rows)


def default_pfs() -> PfsStore | None:
    """The imported PFS tables of the data folder, or ``None`` (cached per process)."""
    return _default_for(config.current().data_dir)


def reset_default_pfs() -> None:
    """Forget the cached PFS tables."""
    _default_for.cache_clear()
