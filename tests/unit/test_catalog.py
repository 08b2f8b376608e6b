"""The code catalog, modifier table, body regions and payer profiles are data that loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from therabill.domain.errors import ReferenceDataError
from therabill.domain.timing import UnitMethod, UnitModel
from therabill.refdata.catalog import body_regions, default_catalog, load_catalog, modifiers
from therabill.refdata.profiles import list_profiles, load_profile

REQUIRED = (
    ["97124", "97140", "97110", "97112", "97116", "97530", "97535", "97150", "97010", "97012", "97014", "G0283",
     "97016", "97018", "97022", "97026", "97032", "97033", "97035", "97039", "97161", "97162", "97163", "97164",
     "98940", "98941", "98942", "98943", "97810", "97811", "97813", "97814",
     # issue 19: the physical-medicine codes therapists bill
     "97024", "97028", "97034", "97036", "97113", "97129", "97130", "97533", "97537", "97542", "97545",
     "97546", "97139", "97750", "97755", "97760", "97761", "97763", "97165", "97166", "97167", "97168"]
    + [f"9892{n}" for n in range(5, 10)]
    + [f"992{n:02d}" for n in range(2, 6)]
    + [f"992{n:02d}" for n in range(11, 16)]
)  # fmt: skip


def test_catalog_has_every_required_code() -> None:
    cat = default_catalog()
    missing = [c for c in REQUIRED if c not in cat]
    assert not missing
    assert cat.source.version == "2026-12-06"


def test_unit_models() -> None:
    cat = default_catalog()
    assert cat.codes["97124"].unit_model is UnitModel.TIMED15
    assert cat.codes["97161"].unit_model is UnitModel.UNTIMED
    assert cat.codes["97810"].unit_model is UnitModel.INITIAL_PLUS_ADDON
    assert not cat.codes["97124"].pc_tc
    assert cat.codes["97014"].medicare_status == "I"
    assert cat.codes["97010"].medicare_status == "B"
    for timed in ("97113", "97760", "97761", "97763", "97755", "97034", "97036", "97533", "97537", "97542"):
        assert cat.codes[timed].unit_model is UnitModel.TIMED15, timed
    for untimed in ("97024", "97028", "97139", "97545", "98925", "98929", "97165", "97168"):
        assert cat.codes[untimed].unit_model is UnitModel.UNTIMED, untimed
    assert cat.codes["97546"].unit_model is UnitModel.TIMED60
    assert cat.codes["97129"].partner == "97130" and cat.codes["97130"].partner == "97129"
    assert all(cat.codes[c].unit_source for c in ("97113", "97760", "97546", "98925"))


def test_hands_on_codes_are_in_person_only() -> None:
    cat = default_catalog()
    assert cat.codes["97124"].in_person and cat.codes["97140"].in_person and cat.codes["98940"].in_person
    assert not cat.codes["97110"].in_person  # on the telehealth list


def test_techniques_point_to_codes() -> None:
    cat = default_catalog()
    assert cat.codes_for_technique("Effleurage") == ("97124",)
    assert "97140" in cat.codes_for_technique("myofascial release")
    assert "97140" in cat.codes_for_technique("manual lymphatic drainage")
    assert cat.codes_for_technique("unheard-of technique") == ()


def test_descriptions_are_our_own_short_words() -> None:
    for info in default_catalog().codes.values():
        assert 10 < len(info.description) < 160


def test_modifier_table() -> None:
    mods = modifiers()
    for code in ["59", "XE", "XS", "XP", "XU", "GP", "GO", "GN", "KX", "CQ", "CO", "GA", "GY", "GZ", "25", "26",
                 "TC", "52", "76", "77", "AT"]:  # fmt: skip
        assert code in mods, code
    assert "ncci_bypass" in mods["XS"].kind
    assert mods["GO"].discipline == "ot"


def test_body_regions() -> None:
    regions = body_regions()
    assert regions["lumbar"].group == "spinal"
    assert regions["shoulder_left"].group == "upper_extremity"


def test_catalog_from_another_file(tmp_path: Path) -> None:
    f = tmp_path / "codes.toml"
    f.write_text(
        '[meta]\nname = "x"\nversion = "2027-01-01"\n\n[[code]]\ncode = "97124"\ncategory = "massage"\n'
        'description = "Massage, each 15 minutes"\nunit_model = "timed15"\n'
    )
    cat = load_catalog(f)
    assert list(cat.codes) == ["97124"]
    assert cat.source.version == "2027-01-01"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[meta]\nversion = "1"\n[[code]]\ncode = "1"\n', "lacks"),
        (
            '[meta]\nversion = "1"\n[[code]]\ncode = "1"\ncategory = "x"\ndescription = "y"\nunit_model = "hourly"\n',
            "hourly",
        ),
        ("not toml [", "not valid TOML"),
        ('[[code]]\ncode = "1"\ncategory = "x"\ndescription = "y"\nunit_model = "timed15"\n', "[meta]"),
    ],
)
def test_bad_catalog_files_say_why(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "codes.toml"
    f.write_text(text)
    with pytest.raises(ReferenceDataError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        load_catalog(f)


def test_shipped_profiles_name_their_method() -> None:
    names = list_profiles()
    for required in [
        "medicare",
        "medicare_advantage",
        "medicaid",
        "commercial",
        "workers_comp",
        "auto_no_fault",
    ]:
        assert required in names
        profile = load_profile(required)
        assert profile.unit_method is UnitMethod.CMS
        setting = profile.setting("unit_method")
        assert setting is not None and (setting.source or setting.review)


def test_practice_profile_without_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "acme_ppo.toml").write_text(
        '[meta]\nversion = "2026-11-01"\n[profile]\nid = "acme_ppo"\nlabel = "Acme PPO"\n'
        '[unit_method]\nvalue = "per-code"\nsource = "Acme provider contract 2026 §4.2"\n'
    )
    profile = load_profile("acme_ppo", extra_dirs=[tmp_path])
    assert profile.unit_method is UnitMethod.PER_CODE
    assert "Acme provider contract" in profile.source_of("unit_method")
    assert "acme_ppo" in list_profiles([tmp_path])


def test_unknown_profile_is_a_clear_error() -> None:
    with pytest.raises(ReferenceDataError, match="unknown payer profile 'nope'"):
        load_profile("nope")
    with pytest.raises(ReferenceDataError):
        load_profile("../etc/passwd")
