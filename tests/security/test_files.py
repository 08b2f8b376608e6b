"""Findings 13 and 14: a re-sent 835 with a changed claim is a clear conflict (never a 500,
never a stop of the file), and odd files or symlinks in the clearinghouse drop folder are
skipped with a message, never followed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.api.conftest import bearer, token_for
from tests.e2e.api.world import World, make_835
from tests.integration.db.builders import ACTOR, a_practice, fixed_clock
from therabill.adapters.clearinghouse import FileDropConnector
from therabill.adapters.clearinghouse.base import ConnectorError
from therabill.adapters.db import migrations
from therabill.adapters.db.engine import make_engine
from therabill.adapters.db.ledger_tables import ledger_entries, remittance_claims
from therabill.service_layer import submission as sub

LINES = [("97124", 4, "140.00", "100.00", [("CO", "45", "40.00")])]


def _post(client: TestClient, token: str, body: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/remittances", content=body.encode(), headers={**bearer(token), "content-type": "text/plain"}
    )


def _counts(world: World) -> tuple[int, int]:
    with world.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(remittance_claims)).scalar_one(),
            conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one(),
        )


def test_resent_835_with_a_changed_claim_is_a_conflict(client: TestClient, world: World) -> None:
    token = token_for(world, "b", "biller")
    first = _post(client, token, make_835("CONFLICT-1", LINES, trn="TRN-CONFLICT"))
    assert first.status_code == 200, first.text
    before = _counts(world)
    # same payer, trace number and amount: one claim now says "denied" and has another ICN
    changed = make_835("CONFLICT-1", LINES, trn="TRN-CONFLICT").replace("*1*140.00", "*4*140.00")
    changed = changed.replace("PAYERICNTRN-CONFLICT", "PAYERICNOTHER")
    r = _post(client, token, changed)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "remittance-conflict"
    assert _counts(world) == before
    # the identical re-send is still a quiet "already on file"
    again = _post(client, token, make_835("CONFLICT-1", LINES, trn="TRN-CONFLICT"))
    assert again.status_code == 200 and again.json()[0]["new"] is False
    assert again.json()[0]["conflict"] is False
    assert _counts(world) == before


def test_conflict_does_not_stop_the_rest_of_the_file(client: TestClient, world: World) -> None:
    token = token_for(world, "b", "biller")
    assert _post(client, token, make_835("CONFLICT-2", LINES, trn="TRN-C2")).status_code == 200
    changed = make_835("CONFLICT-2", LINES, trn="TRN-C2").replace("PAYERICNTRN-C2", "PAYERICNX")
    fresh = make_835("CONFLICT-3", LINES, trn="TRN-C3")
    # two transactions in one interchange: the conflicting one and a new one
    head, _, rest = changed.partition("ST*835")
    body_a = "ST*835" + rest.rsplit("GE*", 1)[0]
    body_b = "ST*835" + fresh.partition("ST*835")[2].rsplit("GE*", 1)[0]
    both = head + body_a + body_b + "GE*2*777~\nIEA*1*000000777~\n"
    r = _post(client, token, both)
    assert r.status_code == 200, r.text
    flags = [(x["conflict"], x["new"]) for x in r.json()]
    assert flags == [(True, False), (False, True)]


# --- finding 14: the clearinghouse drop folder ------------------------------------------


def test_odd_names_and_symlinks_in_the_drop_folder(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'drop.sqlite3'}")
    migrations.upgrade(engine)
    p = a_practice(engine)
    inbox = tmp_path / "in"
    inbox.mkdir()
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("ISA*SECRET-OUTSIDE-THE-DROP-FOLDER~")
    (inbox / "link.835").symlink_to(secret)
    (inbox / "odd name;rm -rf.835").write_bytes(b"ISA*ODD~")
    (inbox / "bad\nname.999").write_bytes(b"ISA*ODD~")
    (inbox / "good.txt").write_bytes(b"hello")
    drop = FileDropConnector(tmp_path / "out", inbox, tmp_path / "arch")
    data = tmp_path / "data"
    got = sub.fetch(engine, p.id, ACTOR, drop, connector_name="desk", data_dir=data, clock=fixed_clock)
    by_kind = sorted((r.kind, r.name) for r in got)
    assert ("unknown", "good.txt") in by_kind  # the good file was collected
    skipped = [r for r in got if r.kind == "skipped"]
    assert len(skipped) == 2 and all("skipped" in r.outcome["error"] for r in skipped)
    assert all("\n" not in r.name for r in got)
    # the odd files stay for a person to look at; the symlink was neither read nor moved
    assert (inbox / "odd name;rm -rf.835").exists() and (inbox / "link.835").is_symlink()
    assert not any(r.name == "link.835" for r in got)
    kept = b"".join(f.read_bytes() for f in data.rglob("*") if f.is_file())
    assert b"SECRET-OUTSIDE" not in kept
    with pytest.raises(ConnectorError):
        drop.fetch("link.835")
    engine.dispose()
