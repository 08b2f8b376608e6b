"""Crash test: writers killed with SIGKILL at random points lose, split or double nothing.

Three worker processes post patient payments and remittances (the same ones, on purpose:
duplicates race each other) through the service layer into one SQLite file, and are killed
at random moments, at least ``KILLS`` times in all. Afterwards: the integrity check passes,
every remittance claim's entries are complete, no idempotency key or posting is duplicated,
everything a worker acknowledged after its commit is present, and the ledger balances.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.conftest import REPO
from tests.integration.ledger.conftest import ACTOR, seed_practice
from therabill.adapters.db import migrations
from therabill.adapters.db.engine import make_engine
from therabill.adapters.db.ledger_tables import (
    idempotency_keys,
    ledger_entries,
    remittance_claims,
    remittances,
)
from therabill.service_layer import ledger as svc

KILLS = 100
WORKERS = 3
TIME_CAP_S = 60


class ForkServer:
    """The worker fork server: spawns workers (cheap forks) for the test to kill."""

    def __init__(self, plan: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.ledger.crash_worker", str(plan)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def spawn(self, ack: Path, seed: int) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{ack} {seed}\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    # wait until it is gone (it is the fork server's child, reaped there)
    for _ in range(1000):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.001)


@pytest.mark.slow
def test_sigkilled_writers_lose_split_and_double_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    seed = seed_practice(engine)
    payer = seed.payer("Acme", "ACME")
    patients = [seed.patient(f"p{i}") for i in range(4)]
    claims = []
    for i in range(6):
        number = f"CRASH-{i}"
        claim_id, _ = seed.claim(patients[i % 4], payer, [("97124", 9000 + 1000 * i)], number=number)
        svc.post_claim_charges(engine, seed.practice_id, ACTOR, claim_id)
        claims.append({"number": number, "line_ref": f"{number}-1", "charge_cents": 9000 + 1000 * i})
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "url": url,
                "practice_id": seed.practice_id,
                "patients": patients,
                "claims": claims,
                "remittances": 12,
                "payment_keys": 300,
            }
        )
    )
    rng = random.Random(20261123)
    acks = [tmp_path / f"ack{i}.log" for i in range(WORKERS)]
    server = ForkServer(plan)
    kills, started = 0, time.monotonic()
    try:
        pids = [server.spawn(acks[i], rng.randrange(10**9)) for i in range(WORKERS)]
        while kills < KILLS and time.monotonic() - started < TIME_CAP_S:
            i = rng.randrange(WORKERS)
            time.sleep(rng.uniform(0.01, 0.3) / WORKERS)
            _kill(pids[i])
            kills += 1
            pids[i] = server.spawn(acks[i], rng.randrange(10**9))
    finally:
        for pid in pids:
            _kill(pid)
        server.close()
    errors = [e.read_text() for e in tmp_path.glob("*.err")]
    assert not errors, "a worker failed on its own:\n" + errors[0]
    assert kills >= KILLS, f"only {kills} kills in {TIME_CAP_S} s"

    with engine.connect() as c:
        assert c.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        # nothing partial: every remittance claim has exactly the entries it recorded
        per_claim = dict(
            c.execute(
                select(ledger_entries.c.remittance_claim_id, func.count())
                .where(ledger_entries.c.remittance_claim_id.is_not(None))
                .group_by(ledger_entries.c.remittance_claim_id)
            ).all()
        )
        rcs = c.execute(select(remittance_claims)).all()
        assert rcs, "no remittance claim was ever posted"
        for rc in rcs:
            assert per_claim.get(rc.id, 0) == rc.entry_count
        # every keyed posting is whole and single: its entries are exactly those it answered with
        keyed = c.execute(select(idempotency_keys.c.key, idempotency_keys.c.response)).all()
        assert len({k for k, _ in keyed}) == len(keyed)
        for key, response in keyed:
            ids = {
                r[0]
                for r in c.execute(select(ledger_entries.c.id).where(ledger_entries.c.idempotency_key == key))
            }
            assert ids == set(response["entry_ids"]), key
        # no remittance or remittance claim twice
        assert (
            c.execute(select(func.count(func.distinct(remittances.c.idempotency_key)))).scalar()
            == c.execute(select(func.count()).select_from(remittances)).scalar()
        )
        stored_keys = {k for k, _ in keyed}
        stored_rems = {
            r.idempotency_key: r.id
            for r in c.execute(select(remittances.c.idempotency_key, remittances.c.id))
        }
        posted_per_rem = dict(
            c.execute(
                select(remittance_claims.c.remittance_id, func.count()).group_by(
                    remittance_claims.c.remittance_id
                )
            ).all()
        )
    # nothing lost: every acknowledged posting is there, whole
    acknowledged = [
        line.split(" ", 1) for a in acks if a.exists() for line in a.read_text().splitlines() if line
    ]
    assert acknowledged, "no worker ever got an operation acknowledged"
    for kind, key in acknowledged:
        if kind == "pay":
            assert key in stored_keys
        else:
            assert key in stored_rems
            assert posted_per_rem.get(stored_rems[key]) == 3
    assert svc.check_ledger(engine, seed.practice_id, ACTOR) == []
    engine.dispose()
