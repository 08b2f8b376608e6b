"""Names outside ASCII are transliterated once, the same way for the 837P and the CMS-1500."""

from __future__ import annotations

from dataclasses import dataclass

from therabill.adapters.text import basic_latin, transliterated
from therabill.adapters.x12.envelope import clean
from therabill.adapters.x12.tokenizer import Delimiters
from therabill.domain.forms import clean as form_clean


@dataclass(frozen=True)
class _Person:
    first: str
    last: str
    codes: tuple[str, ...]


def test_every_letter_is_kept() -> None:
    assert basic_latin("Zoë Ñúñez-Łukasiewicz") == "Zoe Nunez-Lukasiewicz"
    assert basic_latin("Strasse Groß") == "Strasse Gross"
    assert basic_latin("plain") == "plain"


def test_x12_and_the_form_write_the_same_name() -> None:
    name = "Ñúñez-Łukasiewicz"
    x12 = clean(name, "NM103", Delimiters())
    form = form_clean(transliterated(_Person("Zoë", name, ("97124",))).last)
    assert x12 == "Nunez-Lukasiewicz" and form == "NUNEZ-LUKASIEWICZ"


def test_a_tree_is_mapped_only_where_needed() -> None:
    plain = _Person("Ann", "Lee", ("97124",))
    assert transliterated(plain) is plain
    changed = transliterated(_Person("Zoë", "Łukasiewicz", ("97124",)))
    assert changed == _Person("Zoe", "Lukasiewicz", ("97124",))
