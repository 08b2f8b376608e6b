"""A name search (``patients.patient_page``): the first page runs one statement built once;
it matches what the search with filters matches, wildcards in the text are plain text."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Row

from tests.integration.db.builders import ACTOR, a_practice
from therabill.service_layer import patients
from therabill.service_layer.accounts import Principal
from therabill.service_layer.paging import Page


def _names(page: Page[Row[Any]]) -> list[str]:
    return [f"{r.first_name} {r.last_name}" for r in page.items]


def test_a_name_search_matches_parts_of_names_and_reads_wildcards_as_text(engine: Engine) -> None:
    p = a_practice(engine)
    for chart, first, last in (
        ("S-1", "Maria", "Smith"),
        ("S-2", "Marta", "Smithers"),
        ("S-3", "Ann", "Lee"),
    ):
        patients.register_patient(engine, p.id, ACTOR, chart_number=chart, first_name=first, last_name=last)
    owner = Principal("u-search", "owner", "Owner", p.id, "owner")

    def search(name: str, **kw: Any) -> Page[Row[Any]]:
        return patients.patient_page(engine, owner, name=name, **kw)

    assert _names(search("smith")) == ["Maria Smith", "Marta Smithers"]
    assert _names(search("  SMITH,   maria ")) == ["Maria Smith"]
    assert _names(search("m_r")) == []  # "_" is a letter here, not any letter
    assert _names(search("%")) == []
    page_one = search("smith", limit=1)
    assert _names(page_one) == ["Maria Smith"] and page_one.next_key is not None
    assert _names(search("smith", limit=1, after=page_one.next_key)) == ["Marta Smithers"]
    assert _names(search("smith", chart_number="s-2")) == ["Marta Smithers"]
