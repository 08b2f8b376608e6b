"""ICD-10-CM: validity, billability, 7th characters, the release in force, importing a release."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from therabill.domain.errors import ReferenceDataError
from therabill.refdata.icd10 import (
    Icd10Release,
    Icd10Service,
    format_code,
    icd10,
    import_release,
    list_releases,
)

DOS = date(2026, 5, 1)  # inside the shipped April 2026 release


@pytest.mark.parametrize(
    ("code", "valid", "billable", "seventh"),
    [
        ("M54.50", True, True, False),
        ("M5450", True, True, False),
        ("m54.50", True, True, False),
        ("M54.5", True, False, False),  # a subcategory, not a leaf
        ("M54", True, False, False),
        ("S39.012", True, False, True),  # needs its 7th character
        ("S39.012A", True, True, False),
        ("S13.4XXA", True, True, False),
        ("Z99.999", False, False, False),
        ("HELLO", False, False, False),
    ],
)
def test_check(code: str, valid: bool, billable: bool, seventh: bool) -> None:
    result = icd10().check(code, DOS)
    assert (result.valid, result.billable, result.needs_seventh_character) == (valid, billable, seventh)
    assert result.release == "2026-04"
    assert result.release_covers_date


def test_description_and_external_cause() -> None:
    assert icd10().check("M62.830", DOS).description == "Muscle spasm of back"
    assert icd10().check("V43.52XA", DOS).is_external_cause
    assert not icd10().check("M62.830", DOS).is_external_cause


def test_release_not_covering_the_date_is_said() -> None:
    result = icd10().check("M54.50", date(2026, 11, 20))  # FY2027 began 2026-10-01
    assert result.valid and not result.release_covers_date
    assert result.release == "2026-04"


def test_search_ranks_code_prefix_then_words() -> None:
    found = icd10().search("low back pain")
    assert found[0] == ("M54.50", "Low back pain, unspecified")
    assert icd10().search("M62.83")[0][0].startswith("M62.83")
    assert icd10().search("   ") == []


def test_format_code() -> None:
    assert format_code("m5450") == "M54.50"
    assert format_code("M54") == "M54"


def _release(name: str, start: str, end: str) -> Icd10Release:
    return Icd10Release(name, name, date.fromisoformat(start), date.fromisoformat(end), "test")


def test_release_for_picks_the_one_in_force() -> None:
    svc = Icd10Service([_release("b", "2026-10-01", "2027-03-31"), _release("a", "2026-04-01", "2026-09-30")])
    assert svc.release_for(date(2026, 6, 1)) == (svc.releases[0], True)
    assert svc.release_for(date(2026, 12, 1))[0].name == "b"
    assert svc.release_for(date(2027, 6, 1)) == (svc.releases[1], False)  # newest earlier one
    assert svc.release_for(date(2025, 1, 1)) == (svc.releases[0], False)  # earliest


TABULAR = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <version>2027</version>
  <introduction><introSection type="title"><title>test</title></introSection></introduction>
  <chapter>
    <name>13</name>
    <desc>Diseases of the musculoskeletal system and connective tissue (M00-M99)</desc>
    <sectionIndex><sectionRef first="M50" last="M54" id="M50-M54">Other dorsopathies</sectionRef></sectionIndex>
    <section id="M50-M54">
      <desc>Other dorsopathies (M50-M54)</desc>
      <diag>
        <name>M54</name>
        <desc>Dorsalgia</desc>
        <diag>
          <name>M54.5</name>
          <desc>Low back pain</desc>
          <diag><name>M54.50</name><desc>Low back pain, unspecified</desc></diag>
          <diag><name>M54.55</name><desc>Low back pain, new code for the test release</desc></diag>
        </diag>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"""
CODES = "M5450   Low back pain, unspecified\nM5455   Low back pain, new code for the test release\n"


def test_import_official_release_without_code_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THERABILL_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "icd10cm-tabular-2027.xml").write_text(TABULAR)
    (tmp_path / "icd10cm-codes-2027.txt").write_text(CODES)
    base = tmp_path / "data"
    release = import_release(
        tmp_path / "icd10cm-tabular-2027.xml",
        tmp_path / "icd10cm-codes-2027.txt",
        name="2027-10",
        effective_from=date(2026, 10, 1),
        effective_to=date(2027, 3, 31),
        base=base,
    )
    releases = list_releases(base)
    assert [r.name for r in releases] == ["2026-04", "2027-10"]
    svc = Icd10Service(releases)
    new = svc.check("M54.55", date(2026, 11, 20))
    assert new.valid and new.billable and new.release == "2027-10" and new.release_covers_date
    old = svc.check("M54.55", date(2026, 5, 1))
    assert not old.valid and old.release == "2026-04"
    assert release.tabular is not None and Path(release.tabular).is_file()


def test_the_release_list_follows_each_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry is parsed once per version of the file: a later import is listed at once."""
    monkeypatch.setenv("THERABILL_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "tabular.xml").write_text(TABULAR)
    (tmp_path / "codes.txt").write_text(CODES)
    base = tmp_path / "data"
    spans = [
        ("2027-10", date(2026, 10, 1), date(2027, 3, 31)),
        ("2027-04", date(2027, 4, 1), date(2027, 9, 30)),
    ]
    for listed, (name, start, end) in enumerate(spans, start=2):
        import_release(
            tmp_path / "tabular.xml",
            tmp_path / "codes.txt",
            name=name,
            effective_from=start,
            effective_to=end,
            base=base,
        )
        assert len(list_releases(base)) == listed
        assert list_releases(base) == list_releases(base)
    assert [r.name for r in list_releases(base)] == ["2026-04", "2027-10", "2027-04"]
    (base / "icd10" / "releases.toml").unlink()
    assert [r.name for r in list_releases(base)] == ["2026-04"]


def test_import_refuses_bad_files_and_leaves_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THERABILL_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "bad.xml").write_text("<not-icd/>")
    (tmp_path / "codes.txt").write_text(CODES)
    base = tmp_path / "data"
    with pytest.raises(ReferenceDataError):
        import_release(
            tmp_path / "bad.xml",
            tmp_path / "codes.txt",
            name="bad",
            effective_from=date(2026, 10, 1),
            effective_to=date(2027, 3, 31),
            base=base,
        )
    assert [r.name for r in list_releases(base)] == ["2026-04"]
    with pytest.raises(ReferenceDataError, match="end date"):
        import_release(
            tmp_path / "bad.xml",
            tmp_path / "codes.txt",
            name="x",
            effective_from=date(2027, 1, 1),
            effective_to=date(2026, 1, 1),
            base=base,
        )


def test_import_the_cms_zips_as_distributed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    from therabill.refdata.icd10 import import_release_files, release_gap

    monkeypatch.setenv("THERABILL_CACHE_DIR", str(tmp_path / "cache"))
    table = tmp_path / "icd10cm-table-index-2027.zip"
    with zipfile.ZipFile(table, "w") as zf:
        zf.writestr("Table and Index/icd10cm-tabular-2027.xml", TABULAR)
        zf.writestr("Table and Index/icd10cm-index-2027.xml", "<index/>")
    codes = tmp_path / "icd10cm-code-descriptions-2027.zip"
    with zipfile.ZipFile(codes, "w") as zf:
        zf.writestr("Code Descriptions/icd10cm-codes-2027.txt", CODES)
        zf.writestr("Code Descriptions/icd10cm-order-2027.txt", "00001 M5450 1 x x\n")
        zf.writestr("Code Descriptions/icd10cm-codes-addenda-2027.txt", "Add: M5455\n")
    base = tmp_path / "data"
    assert release_gap(date(2026, 11, 20), list_releases(base)) is not None
    release = import_release_files([table, codes], base=base)
    assert (release.name, release.effective_from, release.effective_to) == (
        "2026-10",
        date(2026, 10, 1),
        date(2027, 9, 30),
    )
    assert release_gap(date(2026, 11, 20), list_releases(base)) is None
    svc = Icd10Service(list_releases(base))
    assert svc.check("M54.55", date(2026, 11, 20)).release == "2026-10"
    with pytest.raises(ReferenceDataError, match="exactly one tabular XML"):
        import_release_files([codes], base=base)
