"""Provider disciplines come from NUCC taxonomy codes (and credentials) in a data file."""

from __future__ import annotations

from therabill.refdata.providers import default_disciplines, normalize_credential


def test_taxonomy_codes_and_specializations_name_the_discipline() -> None:
    t = default_disciplines()
    assert t.of_taxonomy("225700000X").id == "massage"  # type: ignore[union-attr]
    assert t.of_taxonomy("225100000X").id == "pt"  # type: ignore[union-attr]
    assert t.of_taxonomy("2251S0007X").id == "pt"  # type: ignore[union-attr]  # a PT specialization
    assert t.of_taxonomy("225200000X").id == "pta"  # type: ignore[union-attr]
    assert t.of_taxonomy("225X00000X").id == "ot"  # type: ignore[union-attr]
    assert t.of_taxonomy("111N00000X").id == "chiro"  # type: ignore[union-attr]
    assert t.of_taxonomy("207Q00000X") is None


def test_credentials_when_no_taxonomy_is_given() -> None:
    t = default_disciplines()
    assert normalize_credential("l.m.t.") == "LMT"
    assert t.of_provider(None, "LMT").id == "massage"  # type: ignore[union-attr]
    assert t.of_provider(None, "OTR/L").id == "ot"  # type: ignore[union-attr]
    assert t.of_provider("225100000X", "LMT").id == "pt"  # type: ignore[union-attr]  # taxonomy first


def test_modifier_and_coverage_facts_carry_sources() -> None:
    t = default_disciplines()
    assert t.by_id["pta"].assistant_modifier == "CQ" and t.by_id["ota"].assistant_modifier == "CO"
    assert t.by_id["ot"].modifier == "GO" and t.by_id["pt"].modifier == "GP"
    chiro = t.by_id["chiro"]
    assert chiro.medicare_covered_codes == frozenset({"98940", "98941", "98942"})
    assert "§240" in chiro.medicare_covered_source
    assert not t.by_id["massage"].medicare_recognized
    assert "evaluation" in t.by_id["pta"].not_allowed_categories
