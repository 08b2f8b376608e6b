"""One batch, one 837P: the web, the API, the CLI and ``submit`` give the same bytes, which
stay the same after the records change; a 999 and a 277CA for a web-built batch move its claims."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from typer.testing import CliRunner

from tests.e2e.api.conftest import bearer, login, token_for
from tests.e2e.api.test_authorization_matrix import VISIT_DOC
from tests.e2e.api.world import AS_OF, World, ready_claim
from tests.integration.interop import x12_files as xf
from therabill.adapters.clearinghouse import FileDropConnector
from therabill.adapters.db.tables import claim_batches, claims, patients, practices, providers
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.domain.money import from_cents
from therabill.entrypoints.cli.main import app as cli
from therabill.service_layer import batches, documents, submission
from therabill.service_layer import claims as claims_svc


def _ready_claim(world: World, day: date) -> str:
    """A ready claim of practice b (practice a's authorization is for the other tests) on its own date of service (no other test bills that day)."""
    return ready_claim(world, day, VISIT_DOC).claim_id


def _surfaces(
    client: TestClient, world: World, batch_id: str, token: str, tmp_path: Path, n: int
) -> set[bytes]:
    """The batch's 837 as the web, the API and the CLI give it."""
    web = client.get(f"/batches/{batch_id}/837")
    assert web.status_code == 200, web.text
    api = client.get(f"/api/v1/batches/{batch_id}/837", headers=bearer(token))
    assert api.status_code == 200, api.text
    out = tmp_path / f"cli-{n}.837"
    url = world.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        cli, ["claims", "export-837", "--batch", batch_id, "-o", str(out), "--practice", "pb"],
        env={"THERABILL_DATABASE_URL": url, "THERABILL_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return {web.content, api.content, out.read_bytes()}


def test_one_batch_gives_one_837_everywhere_and_it_is_a_snapshot(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    claim_id = _ready_claim(world, date(2026, 11, 16))
    csrf = login(client, world, "b", "biller")
    built = client.post("/claims/batch", data={"csrf_token": csrf})
    assert built.status_code == 303, built.text
    batch_id = built.headers["location"].rsplit("/", 1)[1]
    token = token_for(world, "b", "biller")

    before = _surfaces(client, world, batch_id, token, tmp_path, 1)
    assert len(before) == 1, "web, API and CLI must give the same bytes"
    text = before.pop().decode("ascii")
    assert "THERABILL" in text  # the test envelope of a practice with no clearinghouse.toml

    # The records change after the batch was sent: its file does not.
    with world.engine.begin() as conn:
        conn.execute(
            providers.update()
            .where(providers.c.practice_id == world.b.practice_id)
            .values(last_name="Renamed-After-Sending")
        )
        fees = conn.execute(practices.select().where(practices.c.id == world.b.practice_id)).one().fees
        conn.execute(  # and the fee schedule: the claim's charges are what was coded
            practices.update()
            .where(practices.c.id == world.b.practice_id)
            .values(fees={**(fees or {}), "97124": "987.65"})
        )
    try:
        after = _surfaces(client, world, batch_id, token, tmp_path, 2)
    finally:  # the world is shared: later tests bill at the usual fees
        with world.engine.begin() as conn:
            conn.execute(practices.update().where(practices.c.id == world.b.practice_id).values(fees=fees))
    drop = FileDropConnector(tmp_path / "out", tmp_path / "in", tmp_path / "arch")
    sent = submission.submit(
        world.engine,
        world.b.practice_id,
        "test",
        drop,
        connector_name="drop",
        envelope=EnvelopeSettings(),
        build=False,
    )
    (ours,) = [r for r in sent if r.batch_id == batch_id]
    assert ours.outcome == "sent"
    assert after | {(tmp_path / "out" / ours.remote_name).read_bytes()} == {text.encode("ascii")}
    assert "RENAMED" not in text.upper() and "987.65" not in text

    # Rendered again without the batch's file, the claim's own snapshot (the encounter as
    # coded) still gives the old name; without both, the same batch would read differently
    # (so the test means something).
    with world.engine.begin() as conn:
        conn.execute(claim_batches.update().where(claim_batches.c.id == batch_id).values(x12_text=None))
    rendered_now = batches.batch_file(world.engine, world.b.practice_id, "test", batch_id, EnvelopeSettings())
    assert "RENAMED-AFTER-SENDING" not in rendered_now.text.upper()
    with world.engine.begin() as conn:
        conn.execute(claims.update().where(claims.c.id == claim_id).values(coded_document=None))
        conn.execute(claim_batches.update().where(claim_batches.c.id == batch_id).values(x12_text=None))
    rendered_now = batches.batch_file(world.engine, world.b.practice_id, "test", batch_id, EnvelopeSettings())
    assert "RENAMED-AFTER-SENDING" in rendered_now.text.upper()

    # The claims carry the batch's ISA13, GS06 and ST02, whatever surface built it.
    with world.engine.connect() as conn:
        row = conn.execute(claims.select().where(claims.c.id == claim_id)).one()
    assert row.batch_id == batch_id
    assert row.interchange_control_number == row.group_control_number
    assert row.transaction_control_number == "0001"


def test_a_999_moves_the_claims_of_a_web_built_batch(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    claim_id = _ready_claim(world, date(2026, 11, 13))
    csrf = login(client, world, "b", "biller")
    built = client.post("/claims/batch", data={"csrf_token": csrf})
    assert built.status_code == 303, built.text
    with world.engine.connect() as conn:
        row = conn.execute(claims.select().where(claims.c.id == claim_id)).one()
    control = int(row.group_control_number)
    ack = (
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*THERABILL      *261123*1200*^*00501*000000901*0*T*:~"
        "GS*FA*CLEARINGHOUSE*THERABILL*20261123*1200*901*X*005010X231A1~"
        "ST*999*0001*005010X231A1~"
        f"AK1*HC*{control}*005010X222A1~"
        "AK2*837*0001*005010X222A1~IK5*A~AK9*A*1*1*1~SE*6*0001~GE*1*901~IEA*1*000000901~"
    )
    drop = FileDropConnector(tmp_path / "out", tmp_path / "in", tmp_path / "arch")
    (tmp_path / "in").mkdir(parents=True, exist_ok=True)
    (tmp_path / "in" / "ack.999").write_text(ack)
    submission.fetch(
        world.engine, world.b.practice_id, "test", drop, connector_name="drop", data_dir=tmp_path / "data"
    )
    with world.engine.connect() as conn:
        status = conn.execute(claims.select().where(claims.c.id == claim_id)).one().status
    assert status == "batch_accepted"


def test_a_277ca_rejecting_a_web_built_batch_moves_its_claims(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    """The 277CA names the batch by our 837's BHT03 (ISA13 + ST02): the web builder records
    both on the claims, so a batch-level rejection finds them, after the 999 accepted it."""
    claim_id = _ready_claim(world, date(2026, 11, 11))
    csrf = login(client, world, "b", "biller")
    built = client.post("/claims/batch", data={"csrf_token": csrf})
    assert built.status_code == 303, built.text
    batch_id = built.headers["location"].rsplit("/", 1)[1]
    text = client.get(f"/batches/{batch_id}/837").text
    found = re.search(r"BHT\*0019\*00\*(\d+)\*", text)
    assert found, "no BHT in the batch's 837"
    with world.engine.connect() as conn:
        row = conn.execute(claims.select().where(claims.c.id == claim_id)).one()
    charge = from_cents(row.total_charge_cents)
    drop = FileDropConnector(tmp_path / "out", tmp_path / "in", tmp_path / "arch")
    (tmp_path / "in").mkdir(parents=True, exist_ok=True)
    (tmp_path / "in" / "a.999").write_bytes(xf.ack_999(int(row.group_control_number)))
    (tmp_path / "in" / "b.277").write_bytes(
        xf.ack_277ca(None, charge, batch_trace=found.group(1), batch_stc="A3:21")
    )
    got = submission.fetch(
        world.engine, world.b.practice_id, "test", drop, connector_name="drop", data_dir=tmp_path / "data"
    )
    assert [r.kind for r in got] == ["999", "277CA"]
    history = [
        h["status"] for h in claims_svc.claim_history(world.engine, world.b.practice_id, "test", claim_id)
    ]
    assert history[-2:] == ["batch_accepted", "clearinghouse_rejected"]


@pytest.fixture(autouse=True)
def _no_other_ready_claims(world: World) -> None:
    """Each test batches only its own claim: earlier tests' ready claims are put aside."""
    with world.engine.begin() as conn:
        conn.execute(
            claims.update()
            .where(claims.c.practice_id == world.b.practice_id, claims.c.status == "ready")
            .values(status="scrubbed")
        )


def _cms1500_text(world: World, claim_id: str) -> str:
    pdf, _number = documents.claim_cms1500_pdf(
        world.engine, world.b.practice_id, "test", claim_id, signed_on=AS_OF, mode="full"
    )
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_coded_claim_is_a_snapshot_its_cms1500_does_not_follow_the_records(
    client: TestClient, world: World
) -> None:
    claim_id = _ready_claim(world, date(2026, 11, 12))
    before = _cms1500_text(world, claim_id)
    pb = world.b
    with world.engine.connect() as conn:  # the world is shared: put back what this test changes
        was_providers = [
            (r.id, r.last_name, r.npi)
            for r in conn.execute(providers.select().where(providers.c.practice_id == pb.practice_id))
        ]
        was_patient = conn.execute(patients.select().where(patients.c.id == pb.patient_id)).one().last_name
        was_fees = conn.execute(practices.select().where(practices.c.id == pb.practice_id)).one().fees
    try:
        with world.engine.begin() as conn:
            conn.execute(
                providers.update()
                .where(providers.c.practice_id == pb.practice_id)
                .values(last_name="Renamed-Later", npi="1245319599")
            )
            conn.execute(
                patients.update().where(patients.c.id == pb.patient_id).values(last_name="Moved-Later")
            )
            conn.execute(
                practices.update().where(practices.c.id == pb.practice_id).values(fees={"97124": "999.00"})
            )
        after = _cms1500_text(world, claim_id)
        assert after == before
        assert "RENAMED-LATER" not in after.upper() and "MOVED-LATER" not in after.upper()
        # Without the snapshot the form follows today's records (the comparison above means something).
        with world.engine.begin() as conn:
            conn.execute(claims.update().where(claims.c.id == claim_id).values(coded_document=None))
        assert "MOVED-LATER" in _cms1500_text(world, claim_id).upper()
    finally:
        with world.engine.begin() as conn:
            for pid, last_name, npi in was_providers:
                conn.execute(
                    providers.update().where(providers.c.id == pid).values(last_name=last_name, npi=npi)
                )
            conn.execute(
                patients.update().where(patients.c.id == pb.patient_id).values(last_name=was_patient)
            )
            conn.execute(practices.update().where(practices.c.id == pb.practice_id).values(fees=was_fees))
