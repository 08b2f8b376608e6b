"""``therabill form note|statement|receipt|progress`` against a data folder built by the services."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pdfplumber
import pytest
from typer.testing import CliRunner

from tests.integration.db.builders import ACTOR, AS_OF, Practice, a_practice, clean_scrubber
from tests.integration.pdf.conftest import ink_ratio, png_of_first_page
from tests.integration.pdf.stored import record_series
from therabill.adapters.db import migrations
from therabill.adapters.db.engine import make_engine
from therabill.config import database_url
from therabill.domain.ledger import ChargeType, PaymentMethod
from therabill.domain.money import D
from therabill.entrypoints.cli.main import app
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import ledger as svc

runner = CliRunner()


@dataclass
class Folder:
    """A data folder whose SQLite database holds one practice, three visits and two payments."""

    path: Path
    p: Practice
    visit_ids: list[str]
    patient_balance: str

    @property
    def env(self) -> dict[str, str | None]:
        return {"THERABILL_DATA_DIR": str(self.path), "THERABILL_DATABASE_URL": None}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    path = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("THERABILL_DATA_DIR", str(path))
        mp.delenv("THERABILL_DATABASE_URL", raising=False)
        engine = make_engine(database_url())
    migrations.upgrade(engine)
    p = a_practice(engine)
    visit_ids = record_series(p)
    claims_svc.code_visit(engine, p.id, ACTOR, visit_ids[0], as_of=AS_OF, scrubber=clean_scrubber)
    svc.post_charge(
        engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        amount=D("40.00"),
        charge_type=ChargeType.NO_SHOW,
        key="fee",
    )
    svc.post_patient_payment(
        engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        amount=D("25.00"),
        method=PaymentMethod.CARD,
        key="cli-pay",
    )
    balance = svc.balances(engine, p.id, ACTOR, patient_id=p.patient_id)["balance"]["patient_balance"]
    engine.dispose()
    return Folder(path, p, visit_ids, balance)


def run(folder: Folder, *args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["form", *args], env=folder.env)
    return res.exit_code, res.output


def text_of(pdf: Path) -> str:
    with pdfplumber.open(io.BytesIO(pdf.read_bytes())) as doc:
        return "\n".join(p.extract_text() or "" for p in doc.pages)


def test_note_of_a_stored_visit(folder: Folder, tmp_path: Path) -> None:
    out = tmp_path / "note.pdf"
    code, output = run(folder, "note", folder.visit_ids[0], "-o", str(out), "--practice", folder.p.id)
    assert code == 0, output
    text = text_of(out)
    assert "S — Subjective" in text and "Drove to work without neck pain." in text and "Pain 3/10" in text


def test_statement_amount_due_is_the_ledgers(folder: Folder, tmp_path: Path) -> None:
    out = tmp_path / "statement.pdf"
    code, output = run(folder, "statement", folder.p.patient_id, "-o", str(out), "--date", "2026-11-23")
    assert code == 0, output
    assert folder.patient_balance == "15.00"  # 40.00 fee − 25.00 paid
    text = text_of(out)
    assert "AMOUNT DUE" in text and "$15.00" in text


def test_receipt_of_a_payment(folder: Folder, tmp_path: Path) -> None:
    out = tmp_path / "receipt.pdf"
    code, output = run(folder, "receipt", "cli-pay", "-o", str(out))
    assert code == 0, output
    text = text_of(out)
    assert "Received with thanks: $25.00" in text and "Account balance after this payment: $15.00" in text


def test_progress_report_over_a_range(folder: Folder, tmp_path: Path) -> None:
    out = tmp_path / "progress.pdf"
    code, output = run(
        folder,
        "progress",
        folder.p.patient_id,
        "-o",
        str(out),
        "--from",
        "2026-11-13",
        "--date",
        "2026-11-23",
    )
    assert code == 0, output
    text = text_of(out)
    assert "11/13/2026 – 11/20/2026" in text and "20 min at 6/10" in text
    assert "First visit; stiff and sore." not in text  # 11/06 is outside the range


@pytest.mark.parametrize(
    "args",
    [
        ("note", "VISIT"),
        ("statement", "PATIENT"),
        ("receipt", "cli-pay"),
        ("progress", "PATIENT"),
    ],
)
def test_each_document_renders_non_blank(folder: Folder, tmp_path: Path, args: tuple[str, str]) -> None:
    kind, ref = args
    ref = {"VISIT": folder.visit_ids[1], "PATIENT": folder.p.patient_id}.get(ref, ref)
    out = tmp_path / f"{kind}.pdf"
    code, output = run(folder, kind, ref, "-o", str(out))
    assert code == 0, output
    assert ink_ratio(png_of_first_page(out.read_bytes(), tmp_path, kind)) > 0.01


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("receipt", "no-such-key"), "payment-not-found"),
        (("receipt", "fee"), "receipt-not-a-payment"),
        (("progress", "PATIENT", "--from", "2027-01-01"), "progress-empty"),
        (("progress", "PATIENT", "--from", "01/01/2027"), "--from"),
        (("progress", "no-such-patient"), "patient-not-found"),
        (("receipt", "cli-pay", "--practice", "no-such-practice"), "practice-not-found"),
    ],
)
def test_errors_exit_2_and_write_nothing(
    folder: Folder, tmp_path: Path, args: tuple[str, ...], problem: str
) -> None:
    out = tmp_path / "never.pdf"
    argv = [folder.p.patient_id if a == "PATIENT" else a for a in args]
    code, output = run(folder, argv[0], argv[1], "-o", str(out), *argv[2:])
    assert code == 2 and problem in output, output
    assert list(tmp_path.iterdir()) == []
