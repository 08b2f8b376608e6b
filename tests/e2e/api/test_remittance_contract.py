"""One 835, one posting: the web, the API and the CLI post it through the same service and give
the same result object (the API's JSON and ``era post --json`` are ``PostedRemittance.as_dict``;
the page shows the same figures)."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.e2e.api.conftest import bearer, csrf_of, login, token_for
from tests.e2e.api.test_authorization_matrix import VISIT_DOC
from tests.e2e.api.world import World, own_client, ready_claim
from tests.integration.interop import x12_files as xf
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.domain.money import from_cents
from therabill.entrypoints.cli.main import app as cli
from therabill.service_layer import batches
from therabill.service_layer import claims as claims_svc

ACTOR = "test:setup"


def _client(world: World) -> tuple[str, str]:
    return own_client(world, "b", "REMIT-CONTRACT-1", "Rita", "Contract")


def _sent_claim(world: World, day: date) -> str:
    """A claim of practice b on its own date of service, batched (the 835 answers it)."""
    pw = world.b
    coded = ready_claim(world, day, VISIT_DOC, client=_client(world))
    batches.build_batch(world.engine, pw.practice_id, ACTOR, [coded.claim_id], envelope=EnvelopeSettings())
    return coded.claim_id


def _era(world: World, claim_id: str, trace: str) -> bytes:
    """An 835 paying 80% of every line of the claim (the rest CO-45)."""
    detail = claims_svc.claim_detail(world.engine, world.b.practice_id, ACTOR, claim_id)
    lines = [
        (ln.code, from_cents(ln.charge_cents), from_cents(ln.charge_cents) * Decimal("0.8"), ln.line_id)
        for ln in detail.lines
    ]
    era = xf.remit_835(detail.claim.claim_number, lines, trace=trace)
    # from the claim's payer (the file's payer is otherwise one the practice does not bill)
    return era.replace(b"N1*PR*AETNA", b"N1*PR*BLUE CROSS BLUE SHIELD OF ILLINOIS").replace(
        b"REF*2U*60054", b"REF*2U*BCBSIL"
    )


def _same_shape(result: dict[str, Any]) -> dict[str, Any]:
    """What must agree between two postings of equal 835s for different claims."""
    return json.loads(
        re.sub(
            r"TB[0-9A-F]{10}",
            "TB-claim",
            json.dumps({k: v for k, v in result.items() if k not in ("remittance_id", "trace_number")}),
        )
    )


def test_posting_an_835_gives_the_same_result_on_the_web_the_api_and_the_cli(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    eras = [
        _era(world, _sent_claim(world, day), trace)
        for day, trace in (
            (date(2026, 11, 7), "EFT-W"),
            (date(2026, 11, 8), "EFT-A"),
            (date(2026, 11, 9), "EFT-C"),
        )
    ]

    csrf = login(client, world, "b", "biller")
    page = client.post(
        "/remittances",
        data={"csrf_token": csrf_of(client.get("/remittances").text) or csrf},
        files={"file": ("web.835", eras[0], "application/octet-stream")},
    )
    assert page.status_code == 200, page.text

    api = client.post(
        "/api/v1/remittances",
        content=eras[1],
        headers={**bearer(token_for(world, "b", "biller")), "Content-Type": "application/edi-x12"},
    )
    assert api.status_code == 200, api.text
    (from_api,) = api.json()

    era_file = tmp_path / "cli.835"
    era_file.write_bytes(eras[2])
    url = world.engine.url.render_as_string(hide_password=False)
    run = CliRunner().invoke(
        cli, ["era", "post", str(era_file), "--json", "--practice", "pb"],
        env={"THERABILL_DATABASE_URL": url, "THERABILL_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert run.exit_code in (0, 1), run.output
    (from_cli,) = json.loads(run.stdout)

    assert set(from_api) == set(from_cli)  # one shape
    assert _same_shape(from_api) == _same_shape(from_cli)
    assert from_api["new"] and from_api["claims_matched"] == 1 and from_api["entries"] > 0
    assert from_api["worklist"] == [] and from_api["payer"] == "BLUE CROSS BLUE SHIELD OF ILLINOIS"
    assert (from_api["trace_number"], from_cli["trace_number"]) == ("EFT-A", "EFT-C")
    # the page shows the same figures of its own posting
    shown = page.text.split('id="posting-results"')[1].split("</section>")[0]
    assert "1 claim posted" in shown and "EFT-W" in shown
    assert f"{Decimal(from_api['paid']):,.2f}" in shown
