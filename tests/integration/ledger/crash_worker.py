"""A worker of the crash test: posts payments and remittances until it is killed.

Run as ``python -m tests.integration.ledger.crash_worker PLAN.json``: a fork server that
imports everything once and forks one worker per ``ACK_LOG SEED`` line it reads. After
each use case returns (its transaction committed), the worker appends a line to its ack log
and fsyncs it: what the worker was told is done must be in the database after any crash.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import traceback
from datetime import date
from decimal import Decimal

from therabill.adapters.db.engine import make_engine
from therabill.clock import install
from therabill.domain.ledger import PaymentMethod
from therabill.domain.remittance import Adjustment, ClaimPayment, Remittance, RemittanceHeader, ServicePayment
from therabill.entrypoints.clock import system_clock
from therabill.service_layer import ledger as svc
from therabill.service_layer import remittance_posting

ACTOR = "os:crash-worker"


def remittance(plan: dict, k: int) -> Remittance:
    """Remittance ``k``: pays the claims ``k``, ``k+1`` and ``k+2`` (mod the claim count)."""
    claims = []
    n = len(plan["claims"])
    for j in (k % n, (k + 1) % n, (k + 2) % n):
        c = plan["claims"][j]
        charge = Decimal(c["charge_cents"]) / 100
        paid, co = (
            (charge * Decimal("0.6")).quantize(Decimal("0.01")),
            (charge * Decimal("0.2")).quantize(Decimal("0.01")),
        )
        pr = charge - paid - co
        line = ServicePayment(
            "97124",
            "HC",
            ("GP",),
            charge,
            paid,
            line_id=c["line_ref"],
            adjustments=(Adjustment("CO", "45", co), Adjustment("PR", "2", pr)),
        )
        claims.append(ClaimPayment(c["number"], "1", charge, paid, pr, lines=(line,)))
    total = sum((cp.paid for cp in claims), Decimal("0.00"))
    header = RemittanceHeader("I", total, "C", "ACH", date(2026, 11, 30), f"TRN{k}", payer_id="ACME")
    return Remittance(header, tuple(claims))


def work(plan: dict, ack_path: str, seed: int) -> None:
    """Post until killed; acknowledge each committed use case in the ack log (fsynced)."""
    ack = open(ack_path, "a")  # noqa: SIM115 - kept open until the process is killed
    rng = random.Random(seed)
    engine = make_engine(plan["url"])
    while True:
        if rng.random() < 0.5:
            k = rng.randrange(plan["remittances"])
            res = remittance_posting.post_remittance(engine, plan["practice_id"], ACTOR, remittance(plan, k))
            line = f"rem {res.idempotency_key}\n"
        else:
            n = rng.randrange(plan["payment_keys"])
            patient = plan["patients"][n % len(plan["patients"])]
            svc.post_patient_payment(
                engine,
                plan["practice_id"],
                ACTOR,
                patient_id=patient,
                amount=Decimal(1 + n % 40),
                method=PaymentMethod.CARD,
                key=f"pay-{n}",
            )
            line = f"pay pay-{n}\n"
        ack.write(line)
        ack.flush()
        os.fsync(ack.fileno())


def main() -> None:
    """Fork server: imports once, then forks a worker per ``ACK_PATH SEED`` line on stdin."""
    plan = json.loads(open(sys.argv[1]).read())
    install(system_clock)  # a process of its own: an entry point, on the real clock
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # killed children are reaped automatically
    for command in sys.stdin:
        ack_path, seed = command.split()
        pid = os.fork()
        if pid == 0:
            try:
                work(plan, ack_path, int(seed))
            except BaseException:  # noqa: BLE001 - report, then leave without cleanup
                with open(ack_path + ".err", "a") as err:
                    err.write(traceback.format_exc())
            os._exit(3)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
