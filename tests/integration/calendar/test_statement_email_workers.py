"""Two ``therabill worker`` processes on PostgreSQL share the statement-email jobs; one is
killed with SIGKILL while the mail server holds its message: each statement is emailed once."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import Engine, select

from tests.integration.calendar.worker_harness import (
    HeldSend,
    kill_a_mid_send,
    queued_by_the_command,
    run_cli,
    two_workers,
    worker_env,
)
from tests.integration.db.builders import ACTOR, a_practice
from therabill.adapters.db.messaging_tables import statement_email_sends
from therabill.domain.ledger import ChargeType
from therabill.service_layer import ledger, statement_emails
from therabill.service_layer import patients as patients_svc

CLIENTS = 10


class TaggedSmtp:
    """A loopback SMTP server for one worker: keeps (worker, recipient) and can hold a message."""

    def __init__(self, tag: str, received: list[tuple[str, str]], hook: Callable[[str], None]) -> None:
        self.tag = tag
        outer = self

        class Handler:
            async def handle_DATA(self, _server: object, _session: object, envelope: Envelope) -> str:
                parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
                received.append((outer.tag, str(parsed["To"])))
                await asyncio.get_running_loop().run_in_executor(None, hook, outer.tag)
                await asyncio.sleep(0.3)
                return "250 Message accepted for delivery"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> TaggedSmtp:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def _env(engine: Engine, smtp_port: int) -> dict[str, str]:
    return worker_env(engine, THERABILL_SMTP_HOST="127.0.0.1", THERABILL_SMTP_PORT=str(smtp_port))


def test_two_workers_and_a_sigkill_email_each_statement_once(pg_engine: Engine, tmp_path: Path) -> None:
    engine = pg_engine
    p = a_practice(engine)
    addresses = []
    for i in range(CLIENTS):
        address = f"client{i}@example.org"
        patient = patients_svc.register_patient(
            engine,
            p.id,
            ACTOR,
            chart_number=f"W-{i}",
            first_name=f"Client{i}",
            last_name="Osei",
            email=address,
        )
        ledger.post_charge(
            engine, p.id, ACTOR, patient_id=patient, amount=Decimal("40.00") + i, charge_type=ChargeType.RETAIL,
            key=f"retail:{patient}",
        )  # fmt: skip
        addresses.append(address)

    received: list[tuple[str, str]] = []
    held = HeldSend()
    servers = {tag: TaggedSmtp(tag, received, held).start() for tag in ("a", "b")}
    envs = {name: _env(engine, servers[name].port) for name in ("a", "b")}

    def settled() -> bool:
        with engine.connect() as conn:
            rows = conn.execute(select(statement_email_sends.c.status)).scalars().all()
        return len(rows) == CLIENTS and Counter(rows)["sent"] == CLIENTS - 1

    try:
        with two_workers(engine, envs, tmp_path) as workers:
            # only now is anything pending: both workers are listening when the jobs arrive
            run_cli(envs["b"], "statement-emails", "schedule", "--over", "25.00", "--json")
            queued = run_cli(envs["b"], "statement-emails", "send-due")
            queued_by_the_command(queued, "statement email", CLIENTS)
            kill_a_mid_send(workers, held, settled)
    finally:
        for server in servers.values():
            server.stop()

    assert Counter(to for _, to in received) == Counter(dict.fromkeys(addresses, 1)), (
        tmp_path / "b.log"
    ).read_text()[-3000:]
    by_worker = Counter(tag for tag, _ in received)
    assert by_worker["a"] >= 1 and by_worker["b"] >= 1
    with engine.connect() as conn:
        rows = conn.execute(select(statement_email_sends)).all()
    # A's last claim stays "not confirmed": the server took it, nobody sends it again
    unconfirmed = [r for r in rows if r.status == "sending"]
    assert len(unconfirmed) == 1 and unconfirmed[0].claimed_by.endswith(f":{workers[0].pid}")
    (run,) = statement_emails.statement_email_runs_of(engine, p.id, ACTOR)
    assert run.counts == {"sent": CLIENTS - 1, "sending": 1}
