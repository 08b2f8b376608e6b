"""The biller's queues and the remittance page: visits to bill, bulk mark-ready, a batch per payer,
truthful 835 counts, worklist items closed with a reason, received payments; names, money and
dates as people read them on the dashboard and the audit log."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.e2e.api.conftest import login
from tests.e2e.api.test_visit_page import _form
from tests.e2e.api.world import World, make_835
from therabill.service_layer import patients as patients_svc
from therabill.service_layer import work_queues
from therabill.service_layer.coverages import CoverageInput


def _section(html: str, section_id: str) -> str:
    return html.split(f'id="{section_id}"')[1].split("</section>")[0]


def _patient(world: World, chart: str = "pa-queue-1") -> str:
    """A patient of practice A of this module's own (the other tests chart the world's patient)."""
    return patients_svc.register_patient(
        world.engine,
        world.a.practice_id,
        "test:setup",
        chart_number=chart,
        first_name="Quinn",
        last_name="Queue",
        birth_date=date(1975, 6, 1),
        sex="F",
        address={"line1": "9 Elm St", "city": "Springfield", "state": "IL", "zip": "62704"},
        coverages_in=[
            CoverageInput(payer_id=world.a.payer_id, member_id="XOJ555555555", active_from=date(2026, 1, 1))
        ],
    )


def _visit(client: TestClient, world: World, csrf: str, day: str, patient: str) -> str:
    services = [{"code": "97124", "minutes": "60", "regions": "lumbar", "pointers": "1,2"}]
    form = _form(world, csrf, services, date_of_service=day)
    form.pop("coverage_id")
    r = client.post(f"/patients/{patient}/visits", data=form)
    assert r.status_code == 303, r.text
    return r.headers["location"].rsplit("/", 1)[1]


def test_visits_to_bill_then_mark_ready_together_and_batch_per_payer(
    client: TestClient, world: World
) -> None:
    csrf = login(client, world, "a", "owner")
    patient = _patient(world)
    visits = [_visit(client, world, csrf, day, patient) for day in ("2026-11-02", "2026-11-03")]
    shown = client.get(f"/visits/{visits[0]}").text  # the goals and measures saved are shown
    goals = shown.split('id="visit-goals"')[1].split("</dl>")[0]
    assert "Sit 60 minutes without pain above 3/10" in goals and "12/18/2026" in goals
    assert "rotation right" in shown.split('id="visit-rom"')[1].split("</table>")[0]
    chart = client.get(f"/patients/{patient}").text
    assert "Sit 60 minutes without pain above 3/10" in _section(chart, "patient-goals")
    assert re.search(r"Bill \d+ documented visits?</a>", _section(client.get("/").text, "next-steps"))
    page = client.get("/claims")
    to_bill = _section(page.text, "to-bill")
    assert all(f"/visits/{v}/claim" in to_bill for v in visits)
    assert "11/02/2026" in to_bill and "Queue, Quinn" in to_bill

    claim_ids = []
    for v in visits:
        r = client.post(f"/visits/{v}/claim", data={"csrf_token": csrf})
        assert r.status_code == 303, r.text
        claim_ids.append(r.headers["location"].rsplit("/", 1)[1])
    page = client.get("/claims")
    assert all(f"/visits/{v}/claim" not in _section(page.text, "to-bill") for v in visits)
    to_mark = _section(page.text, "to-mark-ready")
    assert all(f'value="{c}"' in to_mark for c in claim_ids), to_mark

    r = client.post("/claims/ready", data={"csrf_token": csrf, "claim_id": [*claim_ids, "0" * 32]})
    assert r.status_code == 303 and "marked=2&refused=1" in r.headers["location"]
    page = client.get("/claims?marked=2&refused=1")
    assert "2 claims marked ready; 1 left as they were" in page.text
    ready = _section(page.text, "ready")
    assert "Blue Cross Blue Shield of Illinois" in ready and all(c in ready for c in claim_ids)
    assert re.search(r"\$\d+\.\d\d", ready) and "$" in _section(page.text, "all-claims")

    r = client.post("/claims/batch", data={"csrf_token": csrf, "payer": world.a.payer_id})
    assert r.status_code == 303 and r.headers["location"].startswith("/batches/")
    batch = client.get(r.headers["location"]).text
    assert all(f"/claims/{c}" in batch for c in claim_ids)
    assert "Submitted" in batch
    assert all(c not in _section(client.get("/claims").text, "ready") for c in claim_ids)


def test_the_claims_page_lists_the_oldest_of_each_queue_and_shows_one_whole(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    csrf = login(client, world, "a", "owner")
    patient = _patient(world, "pa-queue-2")
    visits = [_visit(client, world, csrf, day, patient) for day in ("2026-10-05", "2026-10-06")]
    claim_ids = []
    for v in visits:
        r = client.post(f"/visits/{v}/claim", data={"csrf_token": csrf})
        assert r.status_code == 303, r.text
        claim_ids.append(r.headers["location"].rsplit("/", 1)[1])
    monkeypatch.setattr(work_queues, "QUEUE_SHOWN", 1)
    to_mark = _section(client.get("/claims").text, "to-mark-ready")
    assert to_mark.count('name="claim_id"') == 1 and "The 1 oldest of" in to_mark
    assert 'href="/claims?show=to-mark-ready#to-mark-ready"' in to_mark
    whole = _section(client.get("/claims?show=to-mark-ready").text, "to-mark-ready")
    assert all(f'value="{c}"' in whole for c in claim_ids) and "oldest of" not in whole
    assert client.get("/claims?show=everything").status_code == 422

    r = client.post("/claims/ready", data={"csrf_token": csrf, "claim_id": claim_ids})
    assert r.status_code == 303 and "marked=2" in r.headers["location"]
    ready = _section(client.get("/claims").text, "ready")
    assert "The 1 oldest of" in ready and 'href="/claims?show=ready#ready"' in ready
    assert f'name="payer" value="{world.a.payer_id}"' in ready  # a batch of all the payer's claims
    assert all(c in _section(client.get("/claims?show=ready").text, "ready") for c in claim_ids)
    r = client.post("/claims/batch", data={"csrf_token": csrf, "claim_id": claim_ids})
    assert r.status_code == 303 and r.headers["location"].startswith("/batches/")


def test_the_worklist_pages_and_filters_by_payer(client: TestClient, world: World) -> None:
    login(client, world, "a", "biller")
    page = client.get(f"/claims?payer={world.a.payer_id}&page=1")
    assert page.status_code == 200 and "Payer" in page.text
    assert client.get("/claims?page=0").status_code == 422
    assert client.get("/claims?page=999").status_code == 200  # past the end: the last page


def test_an_835_of_claims_not_ours_posts_nothing_and_its_item_closes_with_a_reason(
    client: TestClient, world: World
) -> None:
    csrf = login(client, world, "a", "biller")
    era = make_835(
        "NOT-OURS-77", [("97124", 4, "140.00", "120.00", [("CO", "45", "20.00")])], trn="EFT-NOPE-77"
    )
    r = client.post(
        "/remittances", data={"csrf_token": csrf}, files={"file": ("era.835", era.encode(), "text/plain")}
    )
    assert r.status_code == 200, r.text
    results = _section(r.text, "posting-results")
    assert "0 claims posted" in results and "1 matched none of ours" in results
    assert "$120.00" in results
    unmatched = _section(r.text, "worklist")
    assert "NOT-OURS-77" in unmatched and "Claim not ours" in unmatched
    assert "NOT-OURS-77" not in _section(r.text, "review")
    assert "EFT-NOPE-77" in _section(r.text, "received")

    action = re.search(r'action="(/remittances/worklist/\w+/dismiss)"', unmatched)
    assert action
    refused = client.post(action.group(1), data={"csrf_token": csrf, "reason": "  "})
    assert refused.status_code == 422 and "say why" in refused.text
    closed = client.post(
        action.group(1), data={"csrf_token": csrf, "reason": "Sent back: another practice's claim"}
    )
    assert closed.status_code == 303
    assert "NOT-OURS-77" not in _section(client.get("/remittances").text, "worklist")
    again = client.post(action.group(1), data={"csrf_token": csrf, "reason": "twice"})
    assert again.status_code == 422
    assert (
        client.post(
            "/remittances/worklist/" + "0" * 32 + "/dismiss", data={"csrf_token": csrf, "reason": "x"}
        ).status_code
        == 404
    )


def test_the_dashboard_and_the_audit_log_show_names_money_and_dates(client: TestClient, world: World) -> None:
    login(client, world, "a", "owner")
    client.get(f"/patients/{world.a.patient_id}")
    board = client.get("/").text
    assert re.search(r'id="paid-this-week">\$[\d,]+\.\d\d<', board)
    assert "Mon, Nov 23, 2026" in board
    audit = client.get("/audit").text
    rows = audit.split('id="audit-rows"')[1]
    assert "Owner PA" in rows and "Viewed a patient" in rows and "Jane DoePA" in rows
    assert world.a.patient_id not in re.sub(r'title="[^"]*"', "", rows)  # ids only on hover
    assert re.search(r"\d\d/\d\d/2026 \d{1,2}:\d\d [AP]M", rows)
