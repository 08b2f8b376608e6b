"""The CMS PFS relative value file (PPRRVU): status indicators, amounts, MPPR, by date."""

from __future__ import annotations

import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from therabill.domain.errors import ReferenceDataError
from therabill.refdata.catalog import default_catalog
from therabill.refdata.fees import default_fees, reset_default_fees
from therabill.refdata.pfs import default_pfs, effective_from_name, import_pfs, parse_pfs, reset_default_pfs
from therabill.scrubber.refs import medicare_status

HEADER = (
    '"CPT codes and descriptions only are copyright American Medical Association.",,,,\n'
    '"HCPCS","MOD","DESCRIPTION","STATUS","NOT USED","WORK","NON-FAC","NON-FAC","FACILITY","FACILITY","MP",'
    '"NON-FACILITY","FACILITY","PCTC","GLOB","PRE","INTRA","POST","MULT","BILAT","ASST","CO-","TEAM","ENDO","CONV"\n'
)


def _row(
    code: str, status: str, work: str, pe: str, mp: str, mult: str = "5", cf: str = "33.4009", mod: str = ""
) -> str:
    return f'"{code}","{mod}","desc","{status}","","{work}","{pe}","","0","","{mp}","0","0","5","XXX","0","0","0","{mult}","0","0","0","0","","{cf}"\n'


def _file(tmp: Path, name: str = "PPRRVU26_JAN.csv", **over: str) -> Path:
    p = tmp / name
    p.write_text(
        HEADER
        + _row("97124", over.get("s97124", "A"), "0.35", "0.70", "0.02")
        + _row("97124", "A", "0.35", "0.70", "0.02", mod="26")
        + _row("97010", "B", "0.06", "0.10", "0.01")
        + _row("97014", "I", "0.18", "0.20", "0.01")
    )
    return p


def test_name_gives_the_quarter() -> None:
    assert effective_from_name("PPRRVU26_JAN.csv") == date(2026, 1, 1)
    assert effective_from_name("rvu26d/PPRRVU26_OCT.txt") == date(2026, 10, 1)
    assert effective_from_name("prices.csv") is None


def test_parse_keeps_global_rows_and_computes_amounts(tmp_path: Path) -> None:
    rows = {r.code: r for r in parse_pfs(_file(tmp_path))}
    assert set(rows) == {"97124", "97010", "97014"}  # the 26 row is not kept
    r = rows["97124"]
    assert (r.status, r.mult_proc, r.effective) == ("A", "5", date(2026, 1, 1))
    assert r.amount == ((Decimal("0.35") + Decimal("0.70") + Decimal("0.02")) * Decimal("33.4009")).quantize(
        Decimal("0.01")
    )
    assert r.mppr_amount < r.amount


def test_bad_rows_and_missing_dates_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "PPRRVU26_APR.csv"
    bad.write_text(HEADER + _row("97124", "Q", "0.35", "0.70", "0.02"))
    with pytest.raises(ReferenceDataError, match="status code 'Q'"):
        parse_pfs(bad)
    nodate = tmp_path / "rvu.csv"
    nodate.write_text(HEADER + _row("97124", "A", "0.35", "0.70", "0.02"))
    with pytest.raises(ReferenceDataError, match="--effective"):
        parse_pfs(nodate)
    assert parse_pfs(nodate, date(2026, 4, 1))[0].effective == date(2026, 4, 1)


def test_import_feeds_status_and_fees_by_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THERABILL_DATA_DIR", str(tmp_path))
    reset_default_pfs()
    reset_default_fees()
    try:
        z = tmp_path / "rvu26a.zip"
        with zipfile.ZipFile(z, "w") as zf:
            zf.writestr("PPRRVU26_JAN.csv", _file(tmp_path).read_text())
        assert import_pfs(z) == 3
        import_pfs(_file(tmp_path, "PPRRVU26_JUL.csv", s97124="N"))
        pfs = default_pfs()
        assert pfs is not None
        info = default_catalog().codes["97124"]
        assert medicare_status(info, date(2026, 3, 1))[0] == "A"
        assert medicare_status(info, date(2026, 8, 1))[0] == "N"
        assert medicare_status(info, date(2025, 12, 31)) == (info.medicare_status, info.medicare_status_note)
        fees = default_fees()
        assert fees is not None
        amount = fees.medicare_amount("97124", date(2026, 3, 1))
        row = pfs.row("97124", date(2026, 3, 1))
        assert row is not None and amount == row.amount
        assert pfs.until(date(2026, 1, 1)) == date(2026, 6, 30)
    finally:
        reset_default_pfs()
        reset_default_fees()


def test_kx_estimate_applies_the_therapy_mppr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses
    import json

    from tests.conftest import EXAMPLES
    from therabill.domain.encounter import TherapyAmounts
    from therabill.schemas.encounter import parse_encounter_obj
    from therabill.scrubber import scrub
    from therabill.scrubber.refs import kx_year

    monkeypatch.setenv("THERABILL_DATA_DIR", str(tmp_path))
    reset_default_pfs()
    reset_default_fees()
    try:
        p = tmp_path / "PPRRVU26_JAN.csv"
        p.write_text(
            HEADER
            + _row("97110", "A", "0.45", "0.40", "0.02")
            + _row("97140", "A", "0.43", "0.35", "0.02")
            + _row("97112", "A", "0.50", "0.45", "0.02")
        )
        import_pfs(p)
        enc = parse_encounter_obj(json.loads((EXAMPLES / "medicare-pt-visit.json").read_text()))
        as_of = date(2026, 11, 23)
        units = scrub(enc, as_of=as_of).units
        pfs = default_pfs()
        assert pfs is not None
        rows = [pfs.row(ln.code, enc.date_of_service) for ln in units.lines]
        billed = [ln.units for ln in units.lines]
        full = sum((r.amount * u for r, u in zip(rows, billed, strict=True) if r), Decimal(0))
        top = max((r for r, u in zip(rows, billed, strict=True) if r and u), key=lambda r: r.pe_nonfacility)
        mppr = (
            top.amount
            + sum((r.mppr_amount * u for r, u in zip(rows, billed, strict=True) if r), Decimal(0))
            - top.mppr_amount
        )
        assert mppr < full
        threshold = kx_year("medicare_therapy", 2026)
        assert threshold is not None

        def fired(used: Decimal) -> bool:
            cov = dataclasses.replace(
                enc.coverage, therapy_amounts_used=TherapyAmounts(used, Decimal(0), None)
            )  # type: ignore[arg-type]
            result = scrub(dataclasses.replace(enc, coverage=cov), as_of=as_of)
            return any(f.rule_id == "kx-modifier-missing" for f in result.findings)

        between = threshold.pt_slp - (full + mppr) / 2  # over the threshold only without the MPPR
        assert not fired(between.quantize(Decimal("0.01")))
        assert fired((threshold.pt_slp - mppr + Decimal("1.00")).quantize(Decimal("0.01")))
    finally:
        reset_default_pfs()
        reset_default_fees()
