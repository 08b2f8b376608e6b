"""A claim's adjudication: the web claim page and the API claim read show the same figures per
line (charge, units, paid, each adjustment with its code and words, the patient's share) and
the same denial reason, all from the stored 835 posting."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import bearer, login, token_for
from tests.e2e.api.test_authorization_matrix import VISIT_DOC
from tests.e2e.api.world import World, make_835, ready_claim
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.service_layer import batches, remittances
from therabill.service_layer.uow import UnitOfWork


class _Rows(HTMLParser):
    """The cell texts of each row of the tables with class ``adjudication-lines``."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_table = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and "adjudication-lines" in (dict(attrs).get("class") or ""):
            self._in_table += 1
        elif self._in_table and tag == "tr":
            self.rows.append([])
        elif self._in_table and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._in_table:
            self._in_table -= 1
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _money(text: str) -> str:
    return f"${Decimal(text):,.2f}"


def _submitted_claim(world: World, day: date) -> tuple[str, str, list[tuple[str, int, int]]]:
    pw, actor = world.b, "test:setup"
    coded = ready_claim(world, day, VISIT_DOC)
    batches.build_batch(world.engine, pw.practice_id, actor, [coded.claim_id], envelope=EnvelopeSettings())
    with UnitOfWork(world.engine, pw.practice_id, actor, read_only=True) as uow:
        number = uow.records.claim_by_number(coded.claim_number).claim_number
        lines = [
            (ln.code, int(ln.units), int(ln.charge_cents)) for ln in uow.records.lines_of(coded.claim_id)
        ]
    return coded.claim_id, str(number), lines


def test_web_and_api_show_the_same_adjudication(client: TestClient, world: World) -> None:
    claim_id, number, lines = _submitted_claim(world, date(2026, 11, 9))
    (first_code, first_units, first_cents), (second_code, second_units, second_cents) = lines
    first = Decimal(first_cents) / 100
    second = Decimal(second_cents) / 100
    era = make_835(
        number,
        [
            (first_code, first_units, f"{first:.2f}", f"{first - 30:.2f}", [("CO", "45", "10.00"), ("PR", "3", "20.00")]),
            (second_code, second_units, f"{second:.2f}", "0.00", [("CO", "97", f"{second:.2f}")]),
        ],
        trn="EFT-ADJ-1109",
        service_date="20261109",
    )  # fmt: skip
    posted = remittances.post_835(world.engine, world.b.practice_id, "test:setup", era)
    assert posted[0].matched_claims == 1

    api = client.get(f"/api/v1/claims/{claim_id}", headers=bearer(token_for(world, "b", "biller")))
    assert api.status_code == 200, api.text
    adj = api.json()["adjudication"]
    (rem,) = adj["remittances"]
    assert rem["trace_number"] == "EFT-ADJ-1109" and rem["posted"]
    assert [ln["paid"] for ln in rem["lines"]] == [f"{first - 30:.2f}", "0.00"]
    assert rem["lines"][0]["patient_share"] == "20.00" and rem["lines"][1]["patient_share"] == "0.00"
    assert [a["code"] for a in rem["lines"][0]["adjustments"]] == ["CO-45", "PR-3"]
    assert [d["code"] for d in adj["denial_reasons"]] == ["CO-97"]
    assert rem["lines"][0]["line_number"] == 1 and rem["lines"][1]["line_number"] == 2

    login(client, world, "b", "biller")
    page = client.get(f"/claims/{claim_id}")
    assert page.status_code == 200
    parser = _Rows()
    parser.feed(page.text)
    web_rows = [r for r in parser.rows if r]
    assert len(web_rows) == len(rem["lines"]) == 2
    for row, ln in zip(web_rows, rem["lines"], strict=True):
        number_cell, code_cell, units_cell, charge_cell, paid_cell, adj_cell, share_cell = row
        assert number_cell == str(ln["line_number"])
        assert code_cell.split()[0] == ln["code"]
        assert Decimal(units_cell.split()[0]) == Decimal(ln["units"])
        assert charge_cell == _money(ln["charge"])
        assert paid_cell == _money(ln["paid"])
        assert share_cell == _money(ln["patient_share"])
        for a in ln["adjustments"]:
            assert f"{a['code']} {_money(a['amount'])}: {a['words']}" in adj_cell
    denial = page.text.split('id="denial-reason"')[1].split("</div>")[0]
    assert all(d["code"] in denial and d["words"] in denial for d in adj["denial_reasons"])
