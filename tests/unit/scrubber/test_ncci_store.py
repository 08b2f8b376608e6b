"""NCCI PTP and MUE loaders (official CMS formats), the SQLite store, the fee schedule."""

from __future__ import annotations

import re
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


def test_ptp_row_with_the_pre_1996_star_and_no_rationale_keeps_its_columns(tmp_path: Path) -> None:
    p = tmp_path / "ccipra-v321r0-f2.txt"
    p.write_text(
        PTP_TEXT
        + "97140\t97530\t*\t19960101\t*\t1\n"  # the star, and no rationale column at all
        + "97012\t97140\t*\t20200101\t20211231\t0\t\n",  # the star, and an empty rationale
        encoding="latin-1",
    )
    edits = {(e.column1, e.column2): e for e in parse_ptp(p)}
    e = edits[("97140", "97530")]
    assert (e.effective, e.deletion, e.modifier_indicator, e.rationale) == (date(1996, 1, 1), None, "1", "")
    e = edits[("97012", "97140")]
    assert (e.effective, e.deletion, e.modifier_indicator) == (date(2020, 1, 1), date(2021, 12, 31), "0")


def test_ptp_csv_is_read_by_record_not_by_line(tmp_path: Path) -> None:
    p = tmp_path / "ptp.csv"
    p.write_text(
        "Column 1,Column 2,*,Effective,Deletion,Modifier,Rationale\n"
        '98940,97140,,20020401,*,1,"Standards of medical practice,\nsecond line of the rationale"\n'
        "97530,97140,*,20200101,*,1,Mutually exclusive\n"
    )
    edits = list(parse_ptp(p))
    assert [(e.column1, e.column2) for e in edits] == [("98940", "97140"), ("97530", "97140")]
    assert "second line" in edits[0].rationale


def test_a_ptp_row_with_too_few_fields_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "ccipra-short.txt"
    p.write_text(PTP_TEXT + "97110\t97112\t*\t20200101\n")
    with pytest.raises(ReferenceDataError, match="line 7: a PTP row needs"):
        list(parse_ptp(p))


def test_mue_zip_as_distributed_takes_its_date_from_the_csv_inside(tmp_path: Path) -> None:
    z = tmp_path / "medicare-ncci-2027q1-practitioner-services-mue-table.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("MCR_MUE_PractitionerServices_Eff_01-01-2027.csv", MUE_TEXT)
        zf.writestr("README.pdf.txt.md", "not a table")
    rows = list(parse_mue(z))
    assert len(rows) == 3 and rows[0].effective == date(2027, 1, 1)
    assert import_mue(z, base=tmp_path) == 3


def test_a_future_mue_import_does_not_switch_checks_off_for_earlier_dates(tmp_path: Path) -> None:
    future = tmp_path / "MCR_MUE_PractitionerServices_Eff_01-01-2027.csv"
    future.write_text(MUE_TEXT.replace("97161,1,", "97161,2,"))
    import_mue(future, base=tmp_path)
    store = SqliteNcciStore(tmp_path / "refdata.sqlite3")
    # November 2026: no imported table is in force; the starter applies and the gap is reported
    m = store.mue_for("97161", date(2026, 11, 20))
    assert m is not None and m.value == 1 and "starter" in m.source
    gap = store.mue_gap(date(2026, 11, 20))
    assert gap is not None and "2027-01-01" in gap
    assert store.mue_gap(date(2027, 2, 1)) is None
    m = store.mue_for("97161", date(2027, 2, 1))
    assert m is not None and m.value == 2
    # the quarter that covers the visit is imported: each table applies to its own dates
    current = tmp_path / "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"
    current.write_text(MUE_TEXT.replace("97124,4,", "97124,5,"))
    import_mue(current, base=tmp_path)
    store = SqliteNcciStore(tmp_path / "refdata.sqlite3")
    assert store.mue_gap(date(2026, 11, 20)) is None
    m = store.mue_for("97124", date(2026, 11, 20))
    assert m is not None and m.value == 5
    m = store.mue_for("97124", date(2027, 1, 1))
    assert m is not None and m.value == 4


def test_a_code_dropped_from_the_newer_mue_table_has_no_mue(tmp_path: Path) -> None:
    old = tmp_path / "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv"
    old.write_text(MUE_TEXT)
    new = tmp_path / "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"
    new.write_text(MUE_TEXT.replace('97140,6,"1 Line Edit","Clinical: Data"\n', ""))
    import_mue(old, base=tmp_path)
    import_mue(new, base=tmp_path)
    store = SqliteNcciStore(tmp_path / "refdata.sqlite3")
    assert store.mue_for("97140", date(2026, 8, 1)) is not None
    assert store.mue_for("97140", date(2026, 11, 1)) is None


def test_starter_has_97140_over_97530_and_evaluations_over_97140() -> None:
    s = starter_ncci()
    pairs = {(p.column1, p.column2): p for p in s.pairs_among(["97140", "97530", "97161"])}
    assert pairs[("97140", "97530")].modifier_indicator == "1"
    assert ("97530", "97140") not in pairs
    assert ("97161", "97140") in pairs and ("97140", "97161") not in pairs


_STATUS = re.compile(r"^\[(V|V3)\]( UNVERIFIED (order|date|indicator)(, (order|date|indicator))*)?$")


def test_every_starter_pair_names_its_source_and_what_is_unverified() -> None:
    rows = starter_ncci().pairs_among(_STARTER_CODES)
    assert len(rows) == 18
    for p in rows:
        status, _, source = p.source.removeprefix("therabill NCCI starter row (").partition(": ")
        assert _STATUS.match(status), (p.column1, p.column2, status)
        assert len(source) > 40, (p.column1, p.column2)
        # a row whose source admits an unconfirmed fact says UNVERIFIED in its status
        if "not confirmed" in source or "not in either source" in source:
            assert "UNVERIFIED" in status, (p.column1, p.column2)


_STARTER_CODES = [
    "98940", "98941", "98942", "97140", "97124", "97112", "97161", "97162", "97163",
    "97164", "97530", "97150", "97116", "97110", "97012",
]  # fmt: skip
