"""The remittance worklist on the web, the API and the command line: an 835 claim that matched
none of ours is assigned to our claim (found by patient, date or number) and posts; counts are
truthful; a received payment is reconciled with the bank deposit, a mismatch shown."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.e2e.api.conftest import bearer, login, token_for
from tests.e2e.api.test_adjudication_contract import _submitted_claim
from tests.e2e.api.world import World, make_835
from therabill.entrypoints.cli.main import app as cli
from therabill.service_layer import remittances


def _section(html: str, section_id: str) -> str:
    return html.split(f'id="{section_id}"')[1].split("</section>")[0]


def _typo_835(world: World, day: date, trn: str) -> tuple[str, str, str]:
    """A submitted claim of practice b and an 835 paying it under a claim number not ours."""
    claim_id, number, lines = _submitted_claim(world, day)
    paid = [
        (
            code,
            units,
            f"{Decimal(cents) / 100:.2f}",
            f"{Decimal(cents) / 100 - 10:.2f}",
            [("CO", "45", "10.00")],
        )
        for code, units, cents in lines
    ]
    era = make_835(f"TYPO{number[-6:]}", paid, trn=trn, service_date=f"{day:%Y%m%d}")
    return claim_id, number, era


def test_web_assigns_an_unmatched_claim_and_it_posts(client: TestClient, world: World) -> None:
    claim_id, number, era = _typo_835(world, date(2026, 11, 2), "EFT-TYPO-WEB")
    csrf = login(client, world, "b", "biller")
    r = client.post(
        "/remittances", data={"csrf_token": csrf}, files={"file": ("era.835", era.encode(), "text/plain")}
    )
    assert r.status_code == 200, r.text
    results = _section(r.text, "posting-results")
    assert "0 claims posted" in results and "1 matched none of ours" in results
    unmatched = _section(r.text, "worklist")
    row = next(x for x in unmatched.split("<tr") if "EFT-TYPO-WEB" in x)
    assert "Jane Doe" in row and "11/02/2026" in row
    link = re.search(r'href="(/remittances/worklist/\w+/assign)"', row)
    assert link, row

    page = client.get(link.group(1))  # searched by the patient's last name the payer sent
    assert page.status_code == 200 and f"/claims/{claim_id}" in page.text
    by_date = client.get(link.group(1), params={"q": "11/02/2026"}).text
    assert f"/claims/{claim_id}" in _section(by_date, "find-claim")
    nothing = client.get(link.group(1), params={"q": "nobody-at-all"}).text
    assert f"/claims/{claim_id}" not in _section(nothing, "find-claim")

    done = client.post(link.group(1), data={"csrf_token": csrf, "claim_id": claim_id})
    assert done.status_code == 303 and "result=posted" in done.headers["location"]
    after = client.get(done.headers["location"])
    assert f"Assigned to claim {number}" in after.text
    assert "EFT-TYPO-WEB" not in _section(after.text, "worklist")
    received = next(x for x in _section(after.text, "received").split("<tr") if "EFT-TYPO-WEB" in x)
    assert "1 paid" in received and "unmatched" not in received
    claim_page = client.get(f"/claims/{claim_id}").text
    assert "EFT-TYPO-WEB" in claim_page and "CO-45" in claim_page
    again = client.post(link.group(1), data={"csrf_token": csrf, "claim_id": claim_id})
    assert again.status_code == 422 and "already closed" in again.text


def test_api_and_cli_list_assign_and_dismiss(client: TestClient, world: World, tmp_path: Path) -> None:
    token = token_for(world, "b", "biller")
    claim_id, number, era = _typo_835(world, date(2026, 11, 3), "EFT-TYPO-API")
    remittances.post_835(world.engine, world.b.practice_id, "test:setup", era)
    items = client.get("/api/v1/remittances/work-items", headers=bearer(token)).json()
    (item,) = [w for w in items if w["trace_number"] == "EFT-TYPO-API"]
    assert item["assignable"] and item["patient"] == "Jane Doe" and item["service_date"] == "2026-11-03"
    found = client.get(f"/api/v1/remittances/work-items/{item['id']}/candidates", headers=bearer(token))
    assert claim_id in [c["claim_id"] for c in found.json()]
    bad = client.post(
        f"/api/v1/remittances/work-items/{item['id']}/assign",
        json={"claim": "NO-SUCH"},
        headers=bearer(token),
    )
    assert bad.status_code == 404
    done = client.post(
        f"/api/v1/remittances/work-items/{item['id']}/assign", json={"claim": number}, headers=bearer(token)
    )
    assert done.status_code == 200, done.text
    assert done.json()["posted"] and done.json()["claim_id"] == claim_id
    closed = client.get("/api/v1/remittances/work-items?open=false", headers=bearer(token)).json()
    (mine,) = [w for w in closed if w["id"] == item["id"]]
    assert mine["resolution"] == "assigned"
    claim = client.get(f"/api/v1/claims/{claim_id}", headers=bearer(token)).json()
    assert claim["adjudication"]["remittances"][0]["trace_number"] == "EFT-TYPO-API"

    # The command line: list, assign, and dismiss another.
    cli_claim, cli_number, cli_era = _typo_835(world, date(2026, 11, 4), "EFT-TYPO-CLI")
    remittances.post_835(world.engine, world.b.practice_id, "test:setup", cli_era)
    other = make_835(
        "SOMEONE-ELSE-1", [("97124", 4, "140.00", "120.00", [("CO", "45", "20.00")])], trn="EFT-ELSE-CLI"
    )
    remittances.post_835(world.engine, world.b.practice_id, "test:setup", other)
    env = {
        "THERABILL_DATABASE_URL": world.engine.url.render_as_string(hide_password=False),
        "THERABILL_DATA_DIR": str(tmp_path / "data"),
    }
    listed = CliRunner().invoke(cli, ["era", "worklist", "--practice", "pb", "--json"], env=env)
    assert listed.exit_code == 1, listed.output  # items are open
    open_items = json.loads(listed.output)
    cli_item = next(w for w in open_items if w["trace_number"] == "EFT-TYPO-CLI")
    else_item = next(w for w in open_items if w["trace_number"] == "EFT-ELSE-CLI")
    assigned = CliRunner().invoke(
        cli, ["era", "assign", cli_item["id"], cli_number, "--practice", "pb"], env=env
    )
    assert assigned.exit_code == 0, assigned.output
    assert f"assigned to claim {cli_number}: posted" in assigned.output
    refused = CliRunner().invoke(
        cli, ["era", "dismiss", else_item["id"], "--reason", " ", "--practice", "pb"], env=env
    )
    assert refused.exit_code == 2 and "worklist-reason-missing" in refused.output
    dismissed = CliRunner().invoke(
        cli, ["era", "dismiss", else_item["id"], "--reason", "Not our patient", "--practice", "pb"], env=env
    )
    assert dismissed.exit_code == 0 and "Not our patient" in dismissed.output
    text = CliRunner().invoke(cli, ["era", "worklist", "--all", "--practice", "pb"], env=env).output
    assert "[closed: dismissed: Not our patient]" in text
    assert client.get(f"/api/v1/claims/{cli_claim}", headers=bearer(token)).json()["status"] != "submitted"


def test_a_deposit_is_reconciled_and_a_mismatch_is_shown(client: TestClient, world: World) -> None:
    _, _, era = _typo_835(world, date(2026, 11, 5), "EFT-BANK-WEB")
    remittances.post_835(world.engine, world.b.practice_id, "test:setup", era)
    token = token_for(world, "b", "biller")
    paid = next(
        r
        for r in client.get("/api/v1/remittances/received", headers=bearer(token)).json()
        if r["trace_number"] == "EFT-BANK-WEB"
    )
    assert not paid["reconciled"] and paid["unmatched"] == 1 and paid["posted"] == 0
    csrf = login(client, world, "b", "biller")
    short = Decimal(paid["amount"]) - Decimal("5.00")
    r = client.post(
        f"/remittances/{paid['id']}/deposit",
        data={"csrf_token": csrf, "amount": f"{short:,.2f}", "deposit_date": "2026-12-01", "note": "fee"},
    )
    assert r.status_code == 303
    row = next(
        x for x in _section(client.get("/remittances").text, "received").split("<tr") if "EFT-BANK-WEB" in x
    )
    assert (
        "differs by -$5.00" in row
        and 'class="received-payment mismatch"' in "<tr" + row
        and "12/01/2026" in row
    )
    bad = client.post(
        f"/remittances/{paid['id']}/deposit",
        data={"csrf_token": csrf, "amount": "lots", "deposit_date": "2026-12-01"},
    )
    assert bad.status_code == 422 and "enter the deposited amount" in bad.text
    fixed = client.put(
        f"/api/v1/remittances/{paid['id']}/deposit",
        json={"amount": paid["amount"], "deposit_date": "2026-12-02"},
        headers=bearer(token),
    )
    assert fixed.status_code == 200, fixed.text
    assert (
        fixed.json()["reconciled"] and not fixed.json()["mismatch"] and fixed.json()["difference"] == "0.00"
    )
    row = next(
        x for x in _section(client.get("/remittances").text, "received").split("<tr") if "EFT-BANK-WEB" in x
    )
    assert "Deposited" in row and "12/02/2026" in row and "differs" not in row
    assert (
        client.put(
            "/api/v1/remittances/" + "0" * 32 + "/deposit",
            json={"amount": "1.00", "deposit_date": "2026-12-02"},
            headers=bearer(token),
        ).status_code
        == 404
    )
