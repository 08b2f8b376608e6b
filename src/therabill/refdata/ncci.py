"""NCCI procedure-to-procedure (PTP) edits and Medically Unlikely Edits (MUE).

Two sources, one interface (``NcciStore``):

* the CMS files a practice imports each quarter (``therabill refdata import-ncci`` and
  ``import-mue``), loaded into indexed tables of the SQLite file ``refdata.sqlite3`` in the
  data folder, so that a million PTP rows are read from disk by index, never held in every
  process's memory;
* the small **starter** tables shipped in ``refdata/data`` (``ncci_ptp_starter.csv``,
  ``mue_starter.csv``), each row with its source and verification status. They are a
  starter, not the CMS table: a table that has not been imported falls back to them.

File formats read (CMS publication formats):

* PTP practitioner edits (``ccipra-vNNNr0-fN.txt``, or the ``.zip`` holding it): a few lines
  of title and copyright text, then tab-delimited rows ``Column 1 | Column 2 | * (in
  existence before 1996) | Effective date (YYYYMMDD) | Deletion date (YYYYMMDD or *) |
  Modifier indicator (0, 1, 9) | PTP edit rationale``. Comma-separated exports of the same
  columns and ``MM/DD/YYYY`` dates are accepted too.
* MUE practitioner services (``MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv``): a
  copyright header, then ``HCPCS/CPT Code, Practitioner Services MUE Values, MUE
  Adjudication Indicator, MUE Rationale``. The file has no per-row dates: its effective date
  comes from the file name (``Eff_MM-DD-YYYY``) or is given on import.

Dates of service pick the edits: a PTP edit applies from its effective date through its
deletion date [?: whether the deletion date itself is still covered is not confirmed in
the CMS documentation consulted; an edit deleted on its own effective date never applies];
each imported MUE file is one table, in force from its effective date until the next
file's: the MUE used is the table in force on the date of service (a code that table lacks
has no MUE, even if an older table had one). A date of service before the earliest imported
table has no table in force: the scrubber says so (``mue-table-not-in-force``) and the shipped
starter table is used for it, so importing a future quarter never switches MUE checks off for
earlier dates.
"""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import re
import sqlite3
import threading
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from therabill import config
from therabill.clock import current_time
from therabill.config import data_dir
from therabill.domain.errors import Problem, ReferenceDataError

__all__ = [
    "REFDATA_DB",
    "MemoryNcciStore",
    "MueEdit",
    "NcciStore",
    "PtpEdit",
    "SqliteNcciStore",
    "default_ncci",
    "import_mue",
    "import_ptp",
    "parse_mue",
    "parse_ptp",
    "reset_default_ncci",
    "starter_ncci",
]

REFDATA_DB = "refdata.sqlite3"
_CODE = re.compile(r"^[0-9A-Z]{4}[0-9A-Z]$")
_OPEN_END = 99991231
_MISSING: date | None = date.min  # a sentinel: "not parsed yet" (never a PTP date)


@dataclass(frozen=True, slots=True)
class PtpEdit:
    """One NCCI PTP edit: column 2 is not paid with column 1 (same patient, day, provider).

    Attributes:
        column1: the column 1 (comprehensive) code.
        column2: the column 2 (component) code, the one denied.
        effective: first date of service the edit applies to.
        deletion: last date of service it applies to, or ``None`` when not deleted.
        modifier_indicator: ``0`` no bypass, ``1`` bypass with an NCCI modifier, ``9`` not active.
        rationale: the PTP edit rationale.
        source: the file (or starter row source) it came from.
    """

    column1: str
    column2: str
    effective: date
    deletion: date | None
    modifier_indicator: str
    rationale: str
    source: str

    def active_on(self, day: date) -> bool:
        """True when the edit applies on ``day`` (indicator 9 is never active)."""
        if self.modifier_indicator == "9" or day < self.effective:
            return False
        if self.deletion is None:
            return True
        return self.deletion > self.effective and day <= self.deletion


@dataclass(frozen=True, slots=True)
class MueEdit:
    """The Medically Unlikely Edit of one code.

    Attributes:
        code: the code.
        value: the most units a provider reports for one patient on one day (or line).
        mai: adjudication indicator: ``1`` line edit, ``2`` per-day policy, ``3`` per-day clinical.
        rationale: the MUE rationale.
        effective: the date the file it came from took effect.
        source: the file (or starter row source) it came from.
    """

    code: str
    value: int
    mai: str
    rationale: str
    effective: date
    source: str


class NcciStore(Protocol):
    """Where the scrubber looks up PTP edits and MUEs."""

    @property
    def ptp_source(self) -> str: ...  # noqa: D102

    @property
    def mue_source(self) -> str: ...  # noqa: D102

    def pairs_among(self, codes: Iterable[str]) -> Sequence[PtpEdit]:
        """Every PTP edit (any date) whose two codes are both among ``codes``."""
        ...

    def mue_for(self, code: str, day: date) -> MueEdit | None:
        """The MUE of ``code`` in effect on ``day``, if any."""
        ...

    def mue_gap(self, day: date) -> str | None:
        """Why no MUE table is in force on ``day`` (``None`` when one is)."""
        ...


# --- parsing ---------------------------------------------------------------------------------


def _date(text: str, where: str) -> date | None:
    t = text.strip().strip('"')
    if not t or t == "*":
        return None
    try:
        if len(t) == 8 and t.isdigit():
            return date(int(t[:4]), int(t[4:6]), int(t[6:]))
        if "/" in t:
            m, d, y = t.split("/")
            return date(int(y), int(m), int(d))
        return date.fromisoformat(t)
    except ValueError:
        raise ReferenceDataError(
            f"{where}: {t!r} is not a date (YYYYMMDD expected)",
            (Problem("refdata-date-invalid", where, f"{t!r} is not a date"),),
        ) from None


_TEXT_NAMES = (".txt", ".csv")


def _streams(path: Path) -> Iterator[tuple[str, io.TextIOBase]]:
    """Each text stream of a file: the file itself, or every .txt/.csv file inside a .zip."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith(_TEXT_NAMES)]
                if not names:
                    raise ReferenceDataError(f"{path.name}: the zip holds no .txt or .csv file")
                for name in names:
                    with zf.open(name) as raw:
                        yield name, io.TextIOWrapper(raw, encoding="latin-1", newline="")
            return
        with open(path, encoding="latin-1", newline="") as fh:
            yield path.name, fh
    except OSError as exc:
        raise ReferenceDataError(f"cannot read {path}: {exc.strerror}") from None


def cms_records(path: Path) -> Iterator[tuple[str, int, list[str]]]:
    """The records of a CMS text file (tab-delimited or CSV), by record and not by line.

    A CSV field in quotes may hold line breaks (a long rationale): the CSV reader keeps it in
    its record. Tab-delimited CMS files quote nothing, so quotes there are text. Each record
    comes with its file name (inside a zip) and the line it starts on; fields are stripped.
    """
    for name, stream in _streams(path):
        head: list[str] = []
        for line in stream:
            head.append(line)
            if "\t" in line or len(head) >= 64:
                break
        tabbed = any("\t" in line for line in head)
        lines = itertools.chain(head, stream)
        if tabbed:
            reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        else:
            reader = csv.reader(lines)
        start = 1
        try:
            for rec in reader:
                yield name, start, [f.strip().strip('"') for f in rec] if tabbed else [f.strip() for f in rec]
                start = reader.line_num + 1
        except csv.Error as exc:
            where = f"{name} line {reader.line_num}"
            raise ReferenceDataError(
                f"{where}: not readable as CSV ({exc})", (Problem("refdata-csv-invalid", where, str(exc)),)
            ) from None


_PtpRow = tuple[str, str, date, date | None, str, str, str]


def _ptp_rows(path: Path) -> Iterator[_PtpRow]:
    """The data rows of a PTP file as plain tuples, checked (the import's fast path).

    Dates repeat thousands of times in a CMS file, so each distinct date text is parsed and
    checked once.
    """
    count = 0
    dates: dict[str, date | None] = {}
    codes: set[str] = set()  # codes already checked against _CODE
    code_ok = _CODE.match
    for name, lineno, f in cms_records(path):
        n = len(f)
        if n < 3:
            continue
        c1, c2 = f[0], f[1]
        if c1 not in codes:
            if not code_ok(c1):
                continue  # title, copyright or column-heading line
            codes.add(c1)
        if c2 not in codes:
            if not code_ok(c2):
                continue
            codes.add(c2)
        # Column 3 is "*" (in existence before 1996) or empty; some exports leave it out. The
        # rationale (last column) may be missing or empty too: decide by content, not by count.
        k = 3 if f[2] in ("*", "") else 2
        if n < k + 3:
            where = f"{name} line {lineno}"
            raise ReferenceDataError(
                f"{where}: a PTP row needs column 1, column 2, effective date, deletion date and "
                f"modifier indicator; it has {n} fields",
                (Problem("refdata-ptp-row-invalid", where, "too few fields"),),
            )
        eff_text, del_text = f[k], f[k + 1]
        effective = dates.get(eff_text, _MISSING)
        if effective is _MISSING:
            effective = dates[eff_text] = _date(eff_text, f"{name} line {lineno}")
        if effective is None:
            where = f"{name} line {lineno}"
            raise ReferenceDataError(
                f"{where}: the effective date is missing",
                (Problem("refdata-ptp-row-invalid", where, "effective date missing"),),
            )
        indicator = f[k + 2]
        if indicator not in ("0", "1", "9"):
            where = f"{name} line {lineno}"
            raise ReferenceDataError(
                f"{where}: modifier indicator {indicator!r} is not 0, 1 or 9",
                (Problem("refdata-ptp-row-invalid", where, "bad modifier indicator"),),
            )
        deletion = dates.get(del_text, _MISSING)
        if deletion is _MISSING:
            deletion = dates[del_text] = _date(del_text, f"{name} line {lineno}")
        count += 1
        yield (c1, c2, effective, deletion, indicator, f[k + 3] if n > k + 3 else "", name)
    if count == 0:
        raise ReferenceDataError(
            f"{path.name}: no PTP edit rows found (is this a CMS practitioner PTP file?)"
        )


def parse_ptp(path: Path) -> Iterator[PtpEdit]:
    """Read a CMS practitioner PTP file (text, CSV or zip), skipping its header lines.

    Raises:
        ReferenceDataError: a data row is malformed, or the file has no data row.
    """
    for row in _ptp_rows(path):
        yield PtpEdit(*row)


_MUE_DATE = re.compile(r"Eff_(\d{2})-(\d{2})-(\d{4})", re.IGNORECASE)


def mue_effective_from_name(name: str) -> date | None:
    """The effective date in a CMS MUE file name (``..._Eff_01-01-2026.csv``), if any."""
    m = _MUE_DATE.search(name)
    return date(int(m.group(3)), int(m.group(1)), int(m.group(2))) if m else None


def parse_mue(path: Path, effective: date | None = None) -> Iterator[MueEdit]:
    """Read a CMS practitioner MUE file (the CSV, or the zip CMS distributes), skipping its
    copyright header.

    The effective date is ``effective`` if given, else the ``Eff_MM-DD-YYYY`` in the name of
    the CSV (inside the zip) or of the file itself.

    Raises:
        ReferenceDataError: no effective date, a malformed row, or no data row.
    """
    count = 0
    for name, lineno, f in cms_records(path):
        if len(f) < 3 or not _CODE.match(f[0]):
            continue
        where = f"{name} line {lineno}"
        eff = effective or mue_effective_from_name(name) or mue_effective_from_name(path.name)
        if eff is None:
            raise ReferenceDataError(
                f"{path.name}: neither the file name nor the CSV inside it ({name}) has an "
                "Eff_MM-DD-YYYY date; give the effective date (--effective)",
                (Problem("refdata-mue-date-missing", path.name, "no Eff_MM-DD-YYYY in the name"),),
            )
        try:
            value = int(f[1])
        except ValueError:
            raise ReferenceDataError(
                f"{where}: MUE value {f[1]!r} is not a whole number",
                (Problem("refdata-mue-row-invalid", where, "bad MUE value"),),
            ) from None
        mai = f[2][:1]
        if mai not in ("1", "2", "3"):
            raise ReferenceDataError(
                f"{where}: adjudication indicator {f[2]!r} is not 1, 2 or 3",
                (Problem("refdata-mue-row-invalid", where, "bad adjudication indicator"),),
            )
        count += 1
        yield MueEdit(f[0], value, mai, f[3] if len(f) > 3 else "", eff, name)
    if count == 0:
        raise ReferenceDataError(f"{path.name}: no MUE rows found (is this a CMS practitioner MUE file?)")


# --- in-memory store (starter table, tests) --------------------------------------------------


class MemoryNcciStore:
    """PTP edits and MUEs held in memory (the shipped starter tables, or tests)."""

    def __init__(
        self,
        ptp: Iterable[PtpEdit] = (),
        mue: Iterable[MueEdit] = (),
        ptp_source: str = "PTP edits given in memory",
        mue_source: str = "MUEs given in memory",
        *,
        mue_any_date: bool = False,
    ) -> None:
        """Index ``ptp`` by column 1 and ``mue`` by code.

        Each distinct MUE effective date is one table, in force from that date until the next
        table's; ``mue_any_date`` (the starter) lets the earliest table also cover earlier dates.
        """
        self._by_col1: dict[str, list[PtpEdit]] = {}
        for e in ptp:
            self._by_col1.setdefault(e.column1, []).append(e)
        self._mue: dict[str, list[MueEdit]] = {}
        for m in mue:
            self._mue.setdefault(m.code, []).append(m)
        for lst in self._mue.values():
            lst.sort(key=lambda m: m.effective, reverse=True)
        self._tables = sorted({m.effective for lst in self._mue.values() for m in lst})
        self._mue_any_date = mue_any_date
        self._ptp_source = ptp_source
        self._mue_source = mue_source

    @property
    def ptp_source(self) -> str:
        """Provenance of the PTP edits."""
        return self._ptp_source

    @property
    def mue_source(self) -> str:
        """Provenance of the MUEs."""
        return self._mue_source

    def pairs_among(self, codes: Iterable[str]) -> Sequence[PtpEdit]:
        """Every PTP edit whose two codes are both among ``codes``."""
        s = set(codes)
        return [e for c in s for e in self._by_col1.get(c, ()) if e.column2 in s]

    def _table_on(self, day: date) -> date | None:
        i = bisect.bisect_right(self._tables, day)
        if i:
            return self._tables[i - 1]
        return self._tables[0] if self._mue_any_date and self._tables else None

    def mue_for(self, code: str, day: date) -> MueEdit | None:
        """The MUE of ``code`` in the table in force on ``day`` (a code the table lacks has none)."""
        table = self._table_on(day)
        if table is None:
            return None
        for m in self._mue.get(code, ()):
            if m.effective == table:
                return m
        return None

    def mue_gap(self, day: date) -> str | None:
        """Why no MUE table is in force on ``day`` (``None`` when one is, or none was given)."""
        if not self._tables or self._table_on(day) is not None:
            return None
        return f"no MUE table is in force on {day}: the earliest takes effect on {self._tables[0]}"


def _starter_rows(name: str) -> list[dict[str, str]]:
    with resources.files("therabill.refdata").joinpath("data", name).open("r", encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


@lru_cache(maxsize=1)
def starter_ncci() -> MemoryNcciStore:
    """The shipped starter tables (a starter, not the CMS table)."""
    ptp = []
    for r in _starter_rows("ncci_ptp_starter.csv"):
        where = f"ncci_ptp_starter.csv {r['column1']}/{r['column2']}"
        eff = _date(r["effective"], where)
        assert eff is not None
        ptp.append(
            PtpEdit(
                r["column1"],
                r["column2"],
                eff,
                _date(r["deletion"], where),
                r["modifier_indicator"],
                r["rationale"],
                f"therabill NCCI starter row ({r['status']}: {r['source']})",
            )
        )
    mue = []
    for r in _starter_rows("mue_starter.csv"):
        eff = _date(r["effective"], "mue_starter.csv")
        assert eff is not None
        mue.append(
            MueEdit(
                r["code"], int(r["value"]), r["mai"], r["rationale"], eff,
                f"therabill MUE starter row ({r['status']}: {r['source']})",
            )
        )  # fmt: skip
    return MemoryNcciStore(
        ptp,
        mue,
        "therabill NCCI PTP starter table 2026-12-06 (a starter, not the CMS table; import the CMS files)",
        "therabill MUE starter table 2026-11-23 (a starter, not the CMS table; import the CMS file)",
        mue_any_date=True,
    )


# --- SQLite store (imported CMS files) -------------------------------------------------------

_PTP_TABLE = """CREATE TABLE IF NOT EXISTS ptp (
    column1 TEXT NOT NULL, column2 TEXT NOT NULL, effective INTEGER NOT NULL,
    deletion INTEGER NOT NULL, modifier_indicator TEXT NOT NULL, rationale TEXT, source TEXT)"""
_SCHEMA = f"""
{_PTP_TABLE};
CREATE TABLE IF NOT EXISTS mue (
    code TEXT NOT NULL, value INTEGER NOT NULL, mai TEXT NOT NULL, rationale TEXT,
    effective INTEGER NOT NULL, source TEXT);
CREATE TABLE IF NOT EXISTS imports (
    kind TEXT NOT NULL, files TEXT NOT NULL, row_count INTEGER NOT NULL, imported_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS mue_code ON mue (code, effective);
"""
# The lookup (column 1 IN codes AND column 2 IN codes) uses ptp_pair; no other index is needed.
_PTP_INDEXES = ("CREATE INDEX IF NOT EXISTS ptp_pair ON ptp (column1, column2)",)


def _ymd(d: date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def _from_ymd(n: int) -> date | None:
    return None if n >= _OPEN_END else date(n // 10000, n // 100 % 100, n % 100)


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    con.executescript(_SCHEMA)
    for ddl in _PTP_INDEXES:
        con.execute(ddl)
    return con


def _record_import(con: sqlite3.Connection, kind: str, files: Sequence[Path], rows: int) -> None:
    con.execute("DELETE FROM imports WHERE kind = ?", (kind,))
    con.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?)",
        (kind, ", ".join(p.name for p in files), rows, current_time().isoformat(timespec="seconds")),
    )


def import_ptp(files: Sequence[Path], base: Path | None = None) -> int:
    """Replace the PTP table with the edits of ``files`` (all of them, or nothing).

    One transaction loads the rows into a new table, drops the old one, renames the new one
    and builds the indexes after the load. Pages of a new table need no rollback journal, so
    a million rows cost about the time it takes to read them; a failure (a bad row in any
    file) rolls everything back and leaves the previous table as it was.

    Returns:
        The number of rows imported.
    """
    path = (base or data_dir()) / REFDATA_DB
    con = _connect(path)
    try:
        con.execute("PRAGMA cache_size = -65536")  # 64 MiB: the load and the index sorts
        con.execute("PRAGMA temp_store = MEMORY")
        con.execute("BEGIN IMMEDIATE")
        con.execute("DROP TABLE IF EXISTS ptp_load")
        con.execute(_PTP_TABLE.replace("IF NOT EXISTS ptp", "ptp_load"))
        count = 0
        ymd: dict[date, int] = {}

        def rows() -> Iterator[tuple[str, str, int, int, str, str, str]]:
            nonlocal count
            for p in files:
                for c1, c2, eff, dele, ind, rationale, name in _ptp_rows(p):
                    count += 1
                    e = ymd.get(eff)
                    if e is None:
                        e = ymd[eff] = _ymd(eff)
                    if dele is None:
                        d = _OPEN_END
                    else:
                        d = ymd.get(dele) or ymd.setdefault(dele, _ymd(dele))
                    yield (c1, c2, e, d, ind, rationale, name)

        con.executemany("INSERT INTO ptp_load VALUES (?, ?, ?, ?, ?, ?, ?)", rows())
        con.execute("DROP TABLE ptp")
        con.execute("ALTER TABLE ptp_load RENAME TO ptp")
        for ddl in _PTP_INDEXES:
            con.execute(ddl)
        _record_import(con, "ptp", files, count)
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    reset_default_ncci()
    return count


def import_mue(path: Path, effective: date | None = None, base: Path | None = None) -> int:
    """Add the MUEs of one quarterly file (replacing a file of the same effective date).

    Returns:
        The number of rows imported.
    """
    edits = list(parse_mue(path, effective))
    eff = _ymd(edits[0].effective)
    db = (base or data_dir()) / REFDATA_DB
    con = _connect(db)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("DELETE FROM mue WHERE effective = ?", (eff,))
        con.executemany(
            "INSERT INTO mue VALUES (?, ?, ?, ?, ?, ?)",
            ((m.code, m.value, m.mai, m.rationale, eff, m.source) for m in edits),
        )
        _record_import(con, f"mue {eff}", [path], len(edits))
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    reset_default_ncci()
    return len(edits)


class SqliteNcciStore:
    """PTP edits and MUEs read by index from ``refdata.sqlite3``.

    A table that holds no rows falls back to the shipped starter table. Lookups are cached
    per process (code sets repeat from visit to visit).
    """

    def __init__(self, path: Path) -> None:
        """Open the database at ``path`` (read only in use)."""
        self.path = path
        self._con = _connect(path)
        self._lock = threading.Lock()
        starter = starter_ncci()
        self._ptp_rows = self._count("SELECT count(*) FROM ptp")
        self._mue_rows = self._count("SELECT count(*) FROM mue")
        files = dict(self._con.execute("SELECT kind, files FROM imports").fetchall())
        self._ptp_fallback = starter if self._ptp_rows == 0 else None
        self._mue_fallback = starter if self._mue_rows == 0 else None
        self._ptp_source = (
            starter.ptp_source
            if self._ptp_rows == 0
            else f"CMS NCCI PTP practitioner edits imported from {files.get('ptp', '?')} ({self._ptp_rows} rows)"
        )
        mue_files = ", ".join(v for k, v in sorted(files.items()) if k.startswith("mue"))
        self._mue_source = (
            starter.mue_source
            if self._mue_rows == 0
            else f"CMS MUE practitioner file(s) imported: {mue_files}"
        )
        self._mue_tables = [
            int(r[0]) for r in self._con.execute("SELECT DISTINCT effective FROM mue ORDER BY effective")
        ]
        self._pairs_cached = lru_cache(maxsize=65536)(self._pairs)
        self._mue_cached = lru_cache(maxsize=65536)(self._mue)

    def _count(self, sql: str) -> int:
        row = self._con.execute(sql).fetchone()
        return int(row[0]) if row else 0

    @property
    def ptp_rows(self) -> int:
        """Rows in the imported PTP table."""
        return self._ptp_rows

    @property
    def ptp_source(self) -> str:
        """Provenance of the PTP edits."""
        return self._ptp_source

    @property
    def mue_source(self) -> str:
        """Provenance of the MUEs."""
        return self._mue_source

    def _pairs(self, codes: frozenset[str]) -> tuple[PtpEdit, ...]:
        marks = ",".join("?" * len(codes))
        args = tuple(codes)
        with self._lock:
            rows = self._con.execute(
                f"SELECT column1, column2, effective, deletion, modifier_indicator, rationale, source "  # noqa: S608
                f"FROM ptp WHERE column1 IN ({marks}) AND column2 IN ({marks})",
                args + args,
            ).fetchall()
        out = []
        for c1, c2, eff, dele, ind, rat, src in rows:
            e = _from_ymd(eff)
            assert e is not None
            out.append(PtpEdit(c1, c2, e, _from_ymd(dele), ind, rat or "", f"CMS NCCI PTP file {src}"))
        return tuple(out)

    def pairs_among(self, codes: Iterable[str]) -> Sequence[PtpEdit]:
        """Every PTP edit whose two codes are both among ``codes``."""
        if self._ptp_fallback is not None:
            return self._ptp_fallback.pairs_among(codes)
        key = frozenset(codes)
        if len(key) < 2:
            return ()
        return self._pairs_cached(key)

    def _table_on(self, day: int) -> int | None:
        """The effective date (YYYYMMDD) of the imported MUE table in force on ``day``."""
        i = bisect.bisect_right(self._mue_tables, day)
        return self._mue_tables[i - 1] if i else None

    def _mue(self, code: str, day: int) -> MueEdit | None:
        table = self._table_on(day)
        if table is None:  # before the earliest imported table: the starter, and mue_gap says so
            d = _from_ymd(day)
            assert d is not None
            return starter_ncci().mue_for(code, d)
        with self._lock:
            row = self._con.execute(
                "SELECT code, value, mai, rationale, effective, source FROM mue WHERE code = ? AND effective = ?",
                (code, table),
            ).fetchone()
        if row is None:
            return None
        eff = _from_ymd(row[4])
        assert eff is not None
        return MueEdit(row[0], int(row[1]), row[2], row[3] or "", eff, f"CMS MUE file {row[5]}")

    def mue_for(self, code: str, day: date) -> MueEdit | None:
        """The MUE of ``code`` in effect on ``day``."""
        if self._mue_fallback is not None:
            return self._mue_fallback.mue_for(code, day)
        return self._mue_cached(code, _ymd(day))

    def mue_gap(self, day: date) -> str | None:
        """Why no imported MUE table is in force on ``day`` (``None`` when one is)."""
        if self._mue_fallback is not None or self._table_on(_ymd(day)) is not None:
            return None
        first = _from_ymd(self._mue_tables[0])
        return (
            f"no imported MUE table is in force on {day}: the earliest imported file takes effect on "
            f"{first}; the shipped starter table is used for that date"
        )


@lru_cache(maxsize=8)
def _default_for(env_dir: str | None) -> NcciStore:  # noqa: ARG001 - the cache key
    p = data_dir() / REFDATA_DB
    if p.is_file():
        return SqliteNcciStore(p)
    return starter_ncci()


def default_ncci() -> NcciStore:
    """The imported tables of the data folder if any, else the shipped starter.

    Cached per process and data folder; an import through this module resets the cache.
    """
    return _default_for(config.current().data_dir)


def reset_default_ncci() -> None:
    """Forget the cached default store (after an import by another process, or in tests)."""
    _default_for.cache_clear()
