"""Imports of the installation's reference data (NCCI PTP, MUE, PFS, fees, ICD-10-CM) from the web,
and what is in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from therabill import config
from therabill.adapters.db.tables import practices
from therabill.clock import Clock, current_time
from therabill.domain.errors import Problem, ReferenceDataError
from therabill.refdata import fees, icd10, ncci
from therabill.refdata.ncci import REFDATA_DB
from therabill.service_layer.practice_settings import PROFILE_NAME, SettingsError, refuse_settings
from therabill.service_layer.uow import UnitOfWork

REFDATA_KINDS = ("ncci-ptp", "mue", "fees", "icd10")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What a reference data import did.

    Attributes:
        kind: ``ncci-ptp``, ``mue``, ``fees`` or ``icd10``.
        rows: rows (or codes) imported.
        seconds: how long it took.
        detail: a sentence for people.
    """

    kind: str
    rows: int
    seconds: float
    detail: str


def import_refdata(
    engine: Engine,
    practice_id: str,
    actor: str,
    kind: str,
    files: list[Path],
    *,
    base: Path | None = None,
    effective: date | None = None,
    release: tuple[str, date, date] | None = None,
    clock: Clock = current_time,
) -> ImportResult:
    """Run one of the official loaders on files already saved under server-made names.

    ``ncci-ptp``: every part of the CMS practitioner PTP file (replaces the table);
    ``mue``: one quarter's practitioner MUE file (``effective`` if its name has no date);
    ``fees``: the fee schedule CSV used for estimates; ``icd10``: a CMS release, ``files`` =
    (tabular XML, code list) and ``release`` = (name, effective from, effective to).
    All or nothing: a bad row leaves the previous data in place. Audited in the practice
    that ran it.
    """
    import time

    started = time.perf_counter()
    try:
        if kind == "ncci-ptp":
            rows = ncci.import_ptp(files, base)
            detail = f"{rows} PTP edit pairs"
        elif kind == "mue":
            rows = ncci.import_mue(files[0], effective, base)
            detail = f"{rows} MUE values"
        elif kind == "fees":
            rows = fees.import_fees(files[0], base)
            detail = f"{rows} fee rows"
        elif kind == "icd10":
            if release is None or len(files) != 2:
                refuse_settings(
                    [
                        Problem(
                            "settings-import-files",
                            "files",
                            "give the tabular XML, the code list, name and dates",
                        )
                    ]
                )
                raise AssertionError  # unreachable: refuse_settings raised
            name, start, end = release
            if not PROFILE_NAME.match(name):
                refuse_settings(
                    [Problem("settings-import-name", "name", "use letters, digits, - or _ (e.g. 2027)")]
                )
            got = icd10.import_release(
                files[0], files[1], name=name, effective_from=start, effective_to=end, base=base
            )
            rows = 1
            detail = f"release {got.name} ({got.effective_from} to {got.effective_to})"
        else:
            refuse_settings(
                [Problem("settings-import-kind", "kind", f"must be one of {', '.join(REFDATA_KINDS)}")]
            )
            raise AssertionError
    except (ReferenceDataError, ValueError, OSError) as exc:
        message = (
            str(exc)
            if isinstance(exc, ReferenceDataError)
            else f"the file could not be read ({type(exc).__name__})"
        )
        raise SettingsError(
            "the import was refused; nothing changed", (Problem("settings-import-failed", "file", message),)
        ) from None
    took = round(time.perf_counter() - started, 2)
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.record("refdata.import", "refdata", kind, {"rows": rows, "seconds": took})
    return ImportResult(kind, rows, took, f"Imported {detail} in {took} s.")


def refdata_status(base: Path | None = None) -> dict[str, Any]:
    """What reference data is in use: the NCCI/MUE imports, the fee schedule, ICD-10-CM releases."""
    import sqlite3

    db = (base or config.data_dir()) / REFDATA_DB
    imports: list[dict[str, Any]] = []
    if db.is_file():
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            imports.extend(
                {"kind": r[0], "files": r[1], "rows": r[2], "at": r[3]}
                for r in con.execute("SELECT kind, files, row_count, imported_at FROM imports ORDER BY kind")
            )
            try:
                n, f = con.execute("SELECT count(*), max(file) FROM fees").fetchone()
                if n:
                    imports.append({"kind": "fees", "files": f, "rows": n, "at": ""})
            except sqlite3.OperationalError:
                pass
        except sqlite3.OperationalError:
            pass
        finally:
            con.close()
    releases = [
        {"name": r.name, "label": r.label, "from": r.effective_from, "to": r.effective_to, "source": r.source}
        for r in icd10.list_releases(base)
    ]
    return {"imports": imports, "icd10": releases}


def may_import_refdata(engine: Engine, practice_id: str, actor: str, named: str) -> bool:
    """Whether this practice's owners may replace the installation's reference data: the one
    practice ``named`` (slug or id) when a name is given, else the only practice there is."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        if named:
            row = uow.session.execute(
                select(practices.c.id, practices.c.slug).where(practices.c.id == practice_id)
            ).one()
            return named in (row.id, row.slug)
        return len(uow.session.execute(select(practices.c.id).limit(2)).all()) == 1
