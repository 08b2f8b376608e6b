"""Money commands: ``era post``, ``payments post|refund``, ``ledger balance|write-off|transfer|
reverse|fee``, ``prepaid sell|redeem``, ``statements run``, ``pay report|rate``, ``denials list``.

Every command that moves money is idempotent: ``--key`` names the posting; without it the
key is derived from the request's own fields and today's date
(``checkout.derived_key``), so running the same command twice the same day posts once. A
second, identical payment on purpose needs its own ``--key``. Patients are named by id or
chart number. Every command takes ``--json``.

Each command opens the database the usual way (``THERABILL_DATABASE_URL`` or the data
folder), acts for one practice (``--practice``) and records the operating-system user as
the actor. ``era post`` is added to the ``era`` sub-app (``era read`` lives beside it).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from therabill.adapters.mail import SmtpMailer, SmtpSettings
from therabill.clock import current_date
from therabill.domain.errors import TherabillError
from therabill.domain.ledger import Bucket, PaymentMethod, PrepaidType
from therabill.domain.money import D, MoneyError
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.common import (
    EXIT_FINDINGS,
    fail,
    fail_from,
    option_day,
    print_json,
    read_input,
    stdout,
)
from therabill.entrypoints.cli.era import era_app
from therabill.entrypoints.cli.form import write_atomically
from therabill.service_layer import (
    checkout,
    compensation,
    ledger_corrections,
    prepaid,
    remittances,
    statements,
)
from therabill.service_layer import ledger as svc
from therabill.service_layer.uow import system_actor

payments_app = typer.Typer(
    help="Patient payments (cash, card, check, HSA/FSA) and refunds.", no_args_is_help=True
)
ledger_app = typer.Typer(
    help="The money ledger: balances, write-offs, transfers, fees, reversals.", no_args_is_help=True
)
prepaid_app = typer.Typer(help="Packages, memberships and gift certificates.", no_args_is_help=True)
statements_app = typer.Typer(help="Patient statements in batch.", no_args_is_help=True)
pay_app = typer.Typer(help="Therapist pay: commissions, tips, package redemptions.", no_args_is_help=True)
denials_app = typer.Typer(help="Denied and partly paid claim lines.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@era_app.command("post")
def era_post(
    file: Annotated[str, typer.Argument(help="The 835 file ('-' for standard input).")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Post an 835 for the payer that sent it: payments, adjustments, patient responsibility.

    Each claim posts on that payer's claim; the patient's share moves to the next coverage,
    whose claim is made and scrubbed for review. Money from a payer not on the claim, or a
    second payment, goes to the worklist to refund. Each claim posts in its own transaction;
    posting the same file (or the same payment in a new envelope) again posts nothing. Exit 1
    when anything went to the worklist.
    """
    data = read_input(file)
    engine, practice_id = open_practice(practice)
    try:
        results = remittances.post_835(engine, practice_id, system_actor(), data)
    except TherabillError as exc:
        fail_from(exc)
    finally:
        engine.dispose()
    report = [r.as_dict() for r in results]
    if as_json:
        print_json(report)
    else:
        for r in report:
            state = "new" if r["new"] else "already on file"
            stdout.print(
                f"remittance {r['trace_number']} from {r['payer']}: payment {r['paid']} ({state}); "
                f"{r['claims_matched']} claim(s) posted, {r['claims_unmatched']} matched none of ours, "
                f"{r['claims_already_posted']} already posted, {r['entries']} ledger entries"
            )
            for w in r["worklist"]:
                action = f" [action: {w['action']}]" if w["action"] else ""
                stdout.print(f"  worklist {w['kind']}: {w['message']}{action}")
            for number in r["next_claims"]:
                stdout.print(
                    f"  secondary claim {number} made from this payment: review it and mark it ready"
                )
    if any(r["worklist"] for r in report):
        raise typer.Exit(EXIT_FINDINGS)


def _patient(engine: Engine, practice_id: str, ref: str) -> str:
    try:
        return checkout.resolve_patient(engine, practice_id, system_actor(), ref)
    except TherabillError as exc:
        engine.dispose()
        fail_from(exc)


def _amount(text: str | None, option: str, *, allow_zero: bool = False) -> Decimal | None:
    if text is None:
        return None
    try:
        value = D(text)
    except MoneyError as exc:
        fail(f"{option}: {exc}")
    if value < Decimal(0) or (value == Decimal(0) and not allow_zero):
        fail(f"{option}: the amount must be positive")
    return value


def _posted(res: svc.Posted, key: str, as_json: bool, what: str) -> None:
    if as_json:
        print_json(
            {
                "entry_ids": list(res.entry_ids),
                "replayed": res.replayed,
                "unapplied": str(res.unapplied),
                "key": key,
            }
        )
    elif res.replayed:
        stdout.print(f"already posted with key {key}: {len(res.entry_ids)} entries; nothing new")
    else:
        stdout.print(f"{what}: {len(res.entry_ids)} entries posted (key {key}; unapplied {res.unapplied})")


def _run(engine: Engine, action: Callable[[], svc.Posted]) -> svc.Posted:
    try:
        return action()
    except TherabillError as exc:
        fail_from(exc)
    finally:
        engine.dispose()


KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="Idempotency key. Without it the key is derived from the request and today's date, "
        "so the same command run twice the same day posts once; give a key to post a second, "
        "identical one on purpose.",
    ),
]


@payments_app.command("post")
def payments_post(
    patient: Annotated[str, typer.Option("--patient", help="The patient's id or chart number.")],
    amount: Annotated[str, typer.Option("--amount", help="Amount, e.g. 25.00.")],
    method: Annotated[PaymentMethod, typer.Option("--method", help="cash, card, check, hsa or fsa.")],
    key: KeyOption = None,
    item: Annotated[str | None, typer.Option("--item", help="Apply all of it to this item.")] = None,
    tip: Annotated[str, typer.Option("--tip", help="Tip for the therapist (kept apart).")] = "0.00",
    tip_method: Annotated[
        PaymentMethod | None, typer.Option("--tip-method", help="How the tip was paid (never hsa or fsa).")
    ] = None,
    unapplied: Annotated[
        bool, typer.Option("--unapplied", help="Keep it as a credit, apply nothing.")
    ] = False,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Post a patient payment, split across open items (largest remainder) unless told otherwise.

    Re-running the same command posts nothing: without --key the key is derived from the
    patient, amount, method, item, tip and today's date.
    """
    value = _amount(amount, "--amount", allow_zero=True) or Decimal(0)
    tip_value = _amount(tip, "--tip", allow_zero=True) or Decimal(0)
    engine, practice_id = open_practice(practice)
    patient_id = _patient(engine, practice_id, patient)
    request: dict[str, object] = {
        "patient": patient_id,
        "amount": str(value),
        "method": str(method),
        "item": item,
    }
    request |= {"tip": str(tip_value), "tip_method": str(tip_method), "unapplied": unapplied}
    the_key = key or checkout.derived_key("cli-payment", practice_id, current_date(), **request)
    res = _run(
        engine,
        lambda: svc.post_patient_payment(
            engine,
            practice_id,
            system_actor(),
            patient_id=patient_id,
            amount=value,
            method=method,
            key=the_key,
            item_id=item,
            tip=tip_value,
            tip_method=tip_method,
            apply=not unapplied,
        ),
    )
    _posted(res, the_key, as_json, "payment")


@payments_app.command("refund")
def payments_refund(
    patient: Annotated[str, typer.Option("--patient", help="The patient's id or chart number.")],
    amount: Annotated[str, typer.Option("--amount", help="Amount to pay back (at most the credit).")],
    method: Annotated[PaymentMethod, typer.Option("--method", help="How it is paid back.")],
    key: KeyOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Refund a patient's credit."""
    value = _amount(amount, "--amount") or Decimal(0)
    engine, practice_id = open_practice(practice)
    patient_id = _patient(engine, practice_id, patient)
    the_key = key or checkout.derived_key(
        "cli-refund", practice_id, current_date(), patient=patient_id, amount=str(value), method=str(method)
    )
    res = _run(
        engine,
        lambda: svc.refund_patient(
            engine,
            practice_id,
            system_actor(),
            patient_id=patient_id,
            amount=value,
            method=method,
            key=the_key,
        ),
    )
    _posted(res, the_key, as_json, "refund")


@ledger_app.command("balance")
def ledger_balance(
    patient: Annotated[str | None, typer.Option("--patient", help="A patient's id or chart number.")] = None,
    claim: Annotated[str | None, typer.Option("--claim", help="A claim's id.")] = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the balances of a patient or a claim (insurance and patient apart); JSON with --json."""
    if (patient is None) == (claim is None):
        fail("name exactly one of --patient or --claim")
    engine, practice_id = open_practice(practice)
    patient_id = _patient(engine, practice_id, patient) if patient else None
    try:
        found = svc.balances(engine, practice_id, system_actor(), patient_id=patient_id, claim_id=claim)
    except TherabillError as exc:
        fail_from(exc)
    finally:
        engine.dispose()
    if as_json:
        print_json(found)
        return
    bal = found["balance"]
    stdout.print(
        f"charges {bal['charges']}, insurance paid {bal['insurance_payments']}, patient paid "
        f"{bal['patient_payments']}, adjusted {bal['adjustments']}; insurance owes {bal['insurance_balance']}, "
        f"patient owes {bal['patient_balance']}"
    )
    if "credit" in found:
        stdout.print(f"credit {found['credit']}, unapplied {found['unapplied']}, tips {found['tips']}")


@ledger_app.command("write-off")
def ledger_write_off(
    item: Annotated[str, typer.Option("--item", help="The item (claim line or fee) id.")],
    reason: Annotated[str, typer.Option("--reason", help="Reason code (SMALL, HARDSHIP, a CARC...).")],
    amount: Annotated[str | None, typer.Option("--amount", help="Default: all that is open.")] = None,
    insurance: Annotated[bool, typer.Option("--insurance", help="Write off the insurance part.")] = False,
    key: KeyOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write off (part of) an item's balance with a reason."""
    value = _amount(amount, "--amount")
    engine, practice_id = open_practice(practice)
    bucket = Bucket.INSURANCE if insurance else Bucket.PATIENT
    the_key = key or checkout.derived_key(
        "cli-write-off",
        practice_id,
        current_date(),
        item=item,
        amount=str(value),
        bucket=str(bucket),
        reason=reason,
    )
    res = _run(
        engine,
        lambda: ledger_corrections.write_off(
            engine,
            practice_id,
            system_actor(),
            item_id=item,
            amount=value,
            bucket=bucket,
            reason_code=reason,
            key=the_key,
        ),
    )
    _posted(res, the_key, as_json, "write-off")


@ledger_app.command("transfer")
def ledger_transfer(
    item: Annotated[str, typer.Option("--item", help="The claim line id.")],
    to: Annotated[str, typer.Option("--to", help="patient or secondary.")],
    amount: Annotated[str | None, typer.Option("--amount", help="Default: all insurance owes.")] = None,
    key: KeyOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move an item's insurance balance to the patient or to the secondary payer."""
    value = _amount(amount, "--amount")
    engine, practice_id = open_practice(practice)
    the_key = key or checkout.derived_key(
        "cli-transfer", practice_id, current_date(), item=item, to=to, amount=str(value)
    )
    res = _run(
        engine,
        lambda: ledger_corrections.transfer_balance(
            engine, practice_id, system_actor(), item_id=item, to=to, key=the_key, amount=value
        ),
    )
    _posted(res, the_key, as_json, "transfer")


@ledger_app.command("reverse")
def ledger_reverse(
    entry: Annotated[str, typer.Argument(help="The entry to reverse.")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reverse a posted entry (every leg of a transfer); running it again posts nothing."""
    engine, practice_id = open_practice(practice)
    res = _run(engine, lambda: ledger_corrections.reverse_entry(engine, practice_id, system_actor(), entry))
    _posted(res, f"reverse:{entry}", as_json, "reversal")


@ledger_app.command("fee")
def ledger_fee(
    patient: Annotated[str, typer.Option("--patient", help="The patient's id or chart number.")],
    kind: Annotated[str, typer.Option("--kind", help="no-show or late-cancel.")],
    amount: Annotated[str | None, typer.Option("--amount", help="Default: the practice's policy.")] = None,
    appointment: Annotated[
        str | None, typer.Option("--appointment", help="The appointment (charged once).")
    ] = None,
    key: KeyOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Charge a no-show or late-cancel fee by the practice's policy."""
    value = _amount(amount, "--amount")
    engine, practice_id = open_practice(practice)
    patient_id = _patient(engine, practice_id, patient)
    the_key = key or checkout.derived_key(
        "cli-fee", practice_id, current_date(), patient=patient_id, kind=kind, amount=str(value)
    )
    res = _run(
        engine,
        lambda: checkout.charge_fee(
            engine,
            practice_id,
            system_actor(),
            patient_id=patient_id,
            kind=kind,
            key=the_key,
            amount=value,
            appointment_id=appointment,
        ),
    )
    _posted(res, the_key, as_json, "fee")


@prepaid_app.command("sell")
def prepaid_sell(
    patient: Annotated[str, typer.Option("--patient", help="The patient's id or chart number.")],
    kind: Annotated[PrepaidType, typer.Option("--kind", help="package or gift-certificate.")],
    code: Annotated[str, typer.Option("--code", help="The code printed on the card.")],
    price: Annotated[str, typer.Option("--price", help="Price paid.")],
    method: Annotated[PaymentMethod, typer.Option("--method", help="How it was paid.")],
    sessions: Annotated[int | None, typer.Option("--sessions", help="Sessions of a package.")] = None,
    description: Annotated[str | None, typer.Option("--description", help="What it is.")] = None,
    expires: Annotated[str | None, typer.Option("--expires", help="Expiry date (YYYY-MM-DD).")] = None,
    key: KeyOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sell a package, a membership period or a gift certificate."""
    value = _amount(price, "--price") or Decimal(0)
    expires_on = option_day(expires, "--expires")
    engine, practice_id = open_practice(practice)
    patient_id = _patient(engine, practice_id, patient)
    the_key = key or checkout.derived_key("cli-prepaid", practice_id, current_date(), code=code)
    res = _run(
        engine,
        lambda: prepaid.sell_prepaid(
            engine,
            practice_id,
            system_actor(),
            patient_id=patient_id,
            kind=kind,
            code=code,
            price=value,
            method=method,
            key=the_key,
            sessions=sessions,
            description=description,
            expires_on=expires_on,
        ),
    )
    _posted(res, the_key, as_json, "sale")


@prepaid_app.command("redeem")
def prepaid_redeem(
    code: Annotated[str, typer.Option("--code", help="The package or gift certificate.")],
    item: Annotated[str, typer.Option("--item", help="The item it pays.")],
    amount: Annotated[
        str | None, typer.Option("--amount", help="Gift certificate: default the balance.")
    ] = None,
    key: KeyOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Apply a package session or gift-certificate value to an item."""
    value = _amount(amount, "--amount")
    engine, practice_id = open_practice(practice)
    the_key = key or checkout.derived_key("cli-redeem", practice_id, current_date(), code=code, item=item)
    res = _run(
        engine,
        lambda: prepaid.redeem_prepaid(
            engine, practice_id, system_actor(), code=code, item_id=item, key=the_key, amount=value
        ),
    )
    _posted(res, the_key, as_json, "redemption")


SmtpHost = Annotated[
    str | None, typer.Option("--smtp-host", envvar="THERABILL_SMTP_HOST", help="The mail server for --email.")
]
SmtpPort = Annotated[int, typer.Option("--smtp-port", envvar="THERABILL_SMTP_PORT", min=1, max=65535)]
SmtpSender = Annotated[
    str, typer.Option("--smtp-sender", envvar="THERABILL_SMTP_SENDER", help="The From address.")
]
SmtpUser = Annotated[str | None, typer.Option("--smtp-username", envvar="THERABILL_SMTP_USERNAME")]
SmtpPassword = Annotated[
    str | None,
    typer.Option("--smtp-password", envvar="THERABILL_SMTP_PASSWORD", show_default=False, hidden=True),
]
SmtpStartTls = Annotated[bool, typer.Option("--smtp-starttls", envvar="THERABILL_SMTP_STARTTLS")]
SmtpTls = Annotated[bool, typer.Option("--smtp-tls", envvar="THERABILL_SMTP_TLS")]


@statements_app.command("run")
def statements_run(
    out: Annotated[Path, typer.Option("--out", help="Folder for the PDFs (one each and all.pdf).")],
    over: Annotated[str, typer.Option("--over", help="Patients owing more than this.")] = "0.00",
    dated: Annotated[str | None, typer.Option("--date", help="Statement date (default today).")] = None,
    email: Annotated[bool, typer.Option("--email", help="Email them (THERABILL_SMTP_* settings).")] = False,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
    smtp_host: SmtpHost = None,
    smtp_port: SmtpPort = 25,
    smtp_sender: SmtpSender = "therabill <therabill@localhost>",
    smtp_username: SmtpUser = None,
    smtp_password: SmtpPassword = None,
    smtp_starttls: SmtpStartTls = False,
    smtp_tls: SmtpTls = False,
) -> None:
    """Issue a statement to every patient owing more than --over: one PDF each, one merged, emailed."""
    threshold = _amount(over, "--over", allow_zero=True) or Decimal(0)
    day = option_day(dated, "--date", current_date())
    if email and not smtp_host:
        fail("--email: set THERABILL_SMTP_HOST (and the other THERABILL_SMTP_* settings) or --smtp-host")
    mailer = (
        SmtpMailer(
            SmtpSettings(
                host=smtp_host or "",
                port=smtp_port,
                sender=smtp_sender,
                username=smtp_username,
                password=smtp_password,
                starttls=smtp_starttls,
                tls=smtp_tls,
            )
        )
        if email
        else None
    )
    engine, practice_id = open_practice(practice)
    try:
        run = statements.statement_batch(
            engine, practice_id, system_actor(), statement_date=day, over=threshold, mailer=mailer
        )
    except TherabillError as exc:
        fail_from(exc)
    finally:
        engine.dispose()
    out.mkdir(parents=True, exist_ok=True)
    for doc in run.statements:
        write_atomically(out / f"statement-{doc.number}.pdf", doc.pdf)
    if run.statements:
        write_atomically(out / "all.pdf", run.merged_pdf)
    if as_json:
        print_json(run.as_dict())
        return
    stdout.print(f"{len(run.statements)} statement(s) in {out}; emailed {len(run.emailed)}")
    for number, why in run.not_emailed:
        stdout.print(f"  {number}: not emailed ({why})")


@pay_app.command("report")
def pay_report(
    start: Annotated[str, typer.Option("--start", help="First day of the pay period.")],
    end: Annotated[str, typer.Option("--end", help="Last day of the pay period.")],
    provider: Annotated[str | None, typer.Option("--provider", help="One therapist's id.")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write the CSV here.")] = None,
    pdf_out: Annotated[Path | None, typer.Option("--pdf", help="Write the PDF here.")] = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Therapist pay: services, commissions by rate, tips and package redemptions per therapist."""
    first, last = option_day(start, "--start", current_date()), option_day(end, "--end", current_date())
    engine, practice_id = open_practice(practice)
    try:
        report = compensation.compensation_report(
            engine, practice_id, system_actor(), start=first, end=last, provider_id=provider
        )
        pdf = compensation.compensation_pdf(engine, practice_id, system_actor(), report) if pdf_out else b""
    except TherabillError as exc:
        fail_from(exc)
    finally:
        engine.dispose()
    if csv_out:
        write_atomically(csv_out, compensation.compensation_csv(report).encode())
    if pdf_out:
        write_atomically(pdf_out, pdf)
    if as_json:
        print_json(report.as_dict())
        return
    for t in report.therapists:
        stdout.print(
            f"{t.name}: {len(t.services)} services, fees {t.fees}, commission {t.commission}, tips {t.tips}, "
            f"package redemptions {t.redemptions}, pay {t.pay}"
        )
    if not report.therapists:
        stdout.print("no services or tips in the period")


@pay_app.command("rate")
def pay_rate(
    provider: Annotated[str, typer.Option("--provider", help="The therapist's id.")],
    percent: Annotated[str, typer.Option("--percent", help="Commission percent, e.g. 45.")],
    code: Annotated[str, typer.Option("--code", help="A service code, or * for the default.")] = "*",
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a therapist's commission rate (per service code, or the default)."""
    value = _amount(percent, "--percent", allow_zero=True) or Decimal(0)
    engine, practice_id = open_practice(practice)
    try:
        compensation.set_commission_rate(
            engine, practice_id, system_actor(), provider_id=provider, percent=value, code=code
        )
    except TherabillError as exc:
        fail_from(exc)
    finally:
        engine.dispose()
    if as_json:
        print_json({"provider_id": provider, "code": code, "percent": str(value)})
    else:
        stdout.print(f"commission {value}% for {code}")


@denials_app.command("list")
def denials_list(practice: PracticeOption = None, as_json: JsonOption = False) -> None:
    """List denied and partly paid claim lines with the reason in words and a likely fix."""
    engine, practice_id = open_practice(practice)
    try:
        found = remittances.denial_worklist(engine, practice_id, system_actor())
    except TherabillError as exc:
        fail_from(exc)
    finally:
        engine.dispose()
    if as_json:
        print_json(found)
        return
    if not found:
        stdout.print("no denied or partly paid lines")
    for d in found:
        stdout.print(
            f"claim {d['claim_number']} line {d['code']}: {d['status']} (charged {d['charges']}, "
            f"paid {d['paid']}, adjusted {d['adjusted']})"
        )
        for r in d["reasons"]:
            stdout.print(f"  {r['code']}: {r['words']}")
            if r["fix"]:
                stdout.print(f"    fix: {r['fix']}")


@era_app.command("example")
def era_example(
    practice: PracticeOption = None,
    out: Annotated[str | None, typer.Option("--out", help="Write the 835 here (default: print it).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Write an 835 that pays the practice's claims awaiting payment (the demo's, to try posting).

    Every line is paid 80 % of its charge; the last line of the first claim with two lines is
    denied (CO-97). Post it with ``therabill era post FILE`` or on the Remittances page.
    """
    engine, practice_id = open_practice(practice)
    try:
        text = remittances.example_835(engine, practice_id, system_actor())
    finally:
        engine.dispose()
    if not text:
        if as_json:
            print_json({"written": False, "reason": "no claim awaits payment: submit a batch first"})
        else:
            stdout.print("no claim awaits payment: submit a batch first")
        raise typer.Exit(EXIT_FINDINGS)
    if out:
        Path(out).write_text(text, encoding="ascii")
        if as_json:
            print_json({"written": True, "file": out, "bytes": len(text)})
            return
        stdout.print(f"wrote {out}")
    elif as_json:
        print_json({"written": True, "x12": text})
    else:
        typer.echo(text, nl=False)
