"""NCCI PTP and MUE loaders (official CMS formats), the SQLite store, the fee schedule."""

from __future__ import annotations

import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from therabill.domain.errors import ReferenceDataError
from therabill.refdata.fees import default_fees, import_fees, reset_default_fees, sample_fees
from therabill.refdata.ncci import (
    SqliteNcciStore,
    default_ncci,
    import_mue,
    import_ptp,
    parse_mue,
    parse_ptp,
    reset_default_ncci,
    starter_ncci,
)

PTP_TEXT = (
    "CMS National Correct Coding Initiative\n"
    "Copyright American Medical Association. All rights reserved.\n"
    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\t"
    "Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n"
    "98940\t97140\t\t20020401\t*\t1\tStandards of medical / surgical practice\n"
    "97530\t97140\t\t20200101\t20200630\t0\tMutually exclusive procedures\n"
    "97150\t97110\t*\t19960101\t*\t9\tMisuse of column two code with column one code\n"
)
MUE_TEXT = (
    '"CPT codes, descriptions and other data only are copyright American Medical Association."\n'
    '"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator","MUE Rationale"\n'
    '97161,1,"2 Date of Service Edit: Policy","Nature of Service/Procedure"\n'
    '97124,4,"3 Date of Service Edit: Clinical","Clinical: Data"\n'
    '97140,6,"1 Line Edit","Clinical: Data"\n'
)


def _ptp_file(tmp: Path) -> Path:
    p = tmp / "ccipra-v321r0-f1.txt"
    p.write_text(PTP_TEXT, encoding="latin-1")
    return p


def test_parse_ptp_reads_the_cms_layout_and_skips_headers(tmp_path: Path) -> None:
    edits = list(parse_ptp(_ptp_file(tmp_path)))
    assert [(e.column1, e.column2, e.modifier_indicator) for e in edits] == [
        ("98940", "97140", "1"),
        ("97530", "97140", "0"),
        ("97150", "97110", "9"),
    ]
    assert edits[0].deletion is None and edits[0].effective == date(2002, 4, 1)
    assert edits[1].deletion == date(2020, 6, 30)


def test_ptp_edits_apply_by_date_of_service(tmp_path: Path) -> None:
    e = list(parse_ptp(_ptp_file(tmp_path)))
    assert e[0].active_on(date(2026, 11, 20)) and not e[0].active_on(date(2002, 3, 31))
    assert e[1].active_on(date(2020, 3, 1)) and not e[1].active_on(date(2020, 7, 1))
    assert not e[2].active_on(date(2026, 1, 1))  # indicator 9: not active


def test_parse_ptp_reads_a_zip_and_rejects_a_bad_indicator(tmp_path: Path) -> None:
    z = tmp_path / "medicare-ncci-2026q4-practitioner-ptp-edits-ccipra-v321r0-f1.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("ccipra-v321r0-f1.txt", PTP_TEXT)
    assert len(list(parse_ptp(z))) == 3
    bad = tmp_path / "bad.txt"
    bad.write_text("98940\t97140\t\t20020401\t*\t7\tx\n")
    with pytest.raises(ReferenceDataError, match="modifier indicator"):
        list(parse_ptp(bad))
    empty = tmp_path / "empty.txt"
    empty.write_text("just a header\n")
    with pytest.raises(ReferenceDataError, match="no PTP edit rows"):
        list(parse_ptp(empty))


def test_parse_mue_takes_the_date_from_the_file_name(tmp_path: Path) -> None:
    p = tmp_path / "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"
    p.write_text(MUE_TEXT)
    rows = list(parse_mue(p))
    assert [(m.code, m.value, m.mai) for m in rows] == [
        ("97161", 1, "2"),
        ("97124", 4, "3"),
        ("97140", 6, "1"),
    ]
    assert rows[0].effective == date(2026, 10, 1)
    nodate = tmp_path / "mue.csv"
    nodate.write_text(MUE_TEXT)
    with pytest.raises(ReferenceDataError, match="effective date"):
        list(parse_mue(nodate))


def test_import_into_sqlite_and_lookup(tmp_path: Path) -> None:
    n = import_ptp([_ptp_file(tmp_path)], base=tmp_path)
    assert n == 3
    mue = tmp_path / "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"
    mue.write_text(MUE_TEXT)
    assert import_mue(mue, base=tmp_path) == 3
    store = SqliteNcciStore(tmp_path / "refdata.sqlite3")
    pairs = store.pairs_among(["98940", "97140", "97124"])
    assert [(p.column1, p.column2) for p in pairs] == [("98940", "97140")]
    assert store.pairs_among(["97140"]) == ()
    m = store.mue_for("97124", date(2026, 11, 20))
    assert m is not None and (m.value, m.mai) == (4, "3")
    assert store.mue_for("97124", date(2026, 9, 30)) is None  # before the file took effect
    assert "ccipra-v321r0-f1.txt" in store.ptp_source


def test_a_failed_import_leaves_the_table_as_it_was(tmp_path: Path) -> None:
    import_ptp([_ptp_file(tmp_path)], base=tmp_path)
    bad = tmp_path / "ccipra-bad.txt"
    bad.write_text(PTP_TEXT + "97110\t97112\t\tnotadate\t*\t1\tx\n")
    with pytest.raises(ReferenceDataError):
        import_ptp([bad], base=tmp_path)
    assert SqliteNcciStore(tmp_path / "refdata.sqlite3").ptp_rows == 3


def test_default_store_is_the_starter_until_an_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THERABILL_DATA_DIR", str(tmp_path))
    reset_default_ncci()
    try:
        assert default_ncci() is starter_ncci()
        assert "starter" in default_ncci().ptp_source
        import_ptp([_ptp_file(tmp_path)])
        store = default_ncci()
        assert isinstance(store, SqliteNcciStore) and store.ptp_rows == 3
        assert "starter" in store.mue_source  # no MUE imported: the MUE starter still applies
    finally:
        reset_default_ncci()


def test_starter_rows_all_have_a_source() -> None:
    s = starter_ncci()
    pairs = s.pairs_among(["98940", "98941", "98942", "97140", "97124", "97112"])
    assert len(pairs) == 9
    assert all("billing-rules.md" in p.source for p in pairs)


def test_fee_schedule_import_and_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sample_fees().medicare_amount("97110", date(2023, 6, 1)) == Decimal("27.89")
    assert sample_fees().medicare_amount("97110", date(2026, 6, 1)) is None
    f = tmp_path / "fees.csv"
    f.write_text(
        "code,practice_fee,medicare_amount,effective_from,effective_to,source\n97110,45.00,30.10,2026-01-01,,PFS 2026\n"
    )
    monkeypatch.setenv("THERABILL_DATA_DIR", str(tmp_path))
    reset_default_fees()
    try:
        assert default_fees() is None
        assert import_fees(f) == 1
        fees = default_fees()
        assert fees is not None and fees.medicare_amount("97110", date(2026, 11, 20)) == Decimal("30.10")
        bad = tmp_path / "bad.csv"
        bad.write_text("code,practice_fee,medicare_amount,effective_from\n97110,abc,,2026-01-01\n")
        with pytest.raises(ReferenceDataError, match="row 2"):
            import_fees(bad)
        assert default_fees() is not None
    finally:
        reset_default_fees()
