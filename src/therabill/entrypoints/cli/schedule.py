"""``therabill schedule``: the calendar from the command line (the same service as the web and API).

Times are the practice's local wall-clock time (``YYYY-MM-DDTHH:MM``). ``--json`` prints what
was written or found, in the API's shape.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from therabill.domain.errors import Problem, TherabillError
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.common import fail, fail_from, option_day, print_json, stdout
from therabill.entrypoints.http.settings import Settings
from therabill.service_layer import (
    appointment_series,
    appointments,
    availability,
    calendar_feed,
    schedule_setup,
)
from therabill.service_layer.accounts import Principal
from therabill.service_layer.uow import system_actor

schedule_app = typer.Typer(help="The calendar: book, list, move, cancel, statuses.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ScopeOption = Annotated[
    str, typer.Option("--scope", help="'one' occurrence, or 'rest' of its weekly series from it on.")
]


def _at(text: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option}: {text!r} is not a local time (YYYY-MM-DDTHH:MM)")


def _line(a: appointments.Appointment) -> str:
    what = a.service_name or a.reason or "appointment"
    room = f" · {a.room_name}" if a.room_name else ""
    return (
        f"{a.start_local:%a %b %-d %-I:%M %p}–{a.end_local:%-I:%M %p}  {a.patient_name} with {a.provider_name}"
        f"  {what}{room}  [{a.status_label}]  {a.id}"
    )


def _show(found: list[appointments.Appointment], as_json: bool) -> None:
    if as_json:
        print_json([a.as_dict() for a in found])
        return
    for a in found:
        stdout.print(_line(a))


@schedule_app.command("book")
def book_command(
    patient: Annotated[str, typer.Option("--patient", help="The client's internal id.")],
    therapist: Annotated[str, typer.Option("--therapist", help="The therapist's internal id.")],
    at: Annotated[str, typer.Option("--at", help="Local start, YYYY-MM-DDTHH:MM.")],
    service: Annotated[
        str | None, typer.Option("--service", help="Service id (sets length and room).")
    ] = None,
    room: Annotated[str | None, typer.Option("--room", help="Room id.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Local end (without a service).")] = None,
    weekly: Annotated[
        int | None, typer.Option("--weekly", help="Book a weekly series of N occurrences.")
    ] = None,
    skip_conflicts: Annotated[
        bool, typer.Option("--skip-conflicts", help="In a series, book the free weeks and list the others.")
    ] = False,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Book an appointment (or a weekly series); a double booking is refused (exit 2)."""
    start = _at(at, "--at")
    end_local = _at(end, "--end") if end else None
    try:
        engine, pid = open_practice(practice)
        if weekly is None:
            booked = [
                appointments.book(
                    engine,
                    pid,
                    system_actor(),
                    patient_id=patient,
                    provider_id=therapist,
                    start_local=start,
                    service_id=service,
                    room_id=room,
                    end_local=end_local,
                )  # fmt: skip
            ]
            conflicts: tuple[object, ...] = ()
        else:
            result = appointment_series.book_weekly(
                engine, pid, system_actor(), patient_id=patient, provider_id=therapist, first_local=start,
                service_id=service, room_id=room, end_local=end_local, count=weekly, skip_conflicts=skip_conflicts,
            )  # fmt: skip
            booked, conflicts = list(result.booked), result.conflicts
    except TherabillError as exc:
        fail_from(exc)
    _show(booked, as_json)
    for p in conflicts:
        typer.echo(f"not booked: {p}", err=True)


@schedule_app.command("list")
def list_command(
    day: Annotated[str | None, typer.Option("--day", help="First local day (default: today).")] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=31, help="How many days (7: a week).")] = 1,
    therapist: Annotated[str | None, typer.Option("--therapist", help="Only this therapist's.")] = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the appointments of a day (or several), in start order."""
    try:
        engine, pid = open_practice(practice)
        first = option_day(day, "--day") or appointments.local_today(engine, pid, system_actor())
        found = appointments.appointments_on(
            engine, pid, system_actor(), first, days=days, provider_id=therapist
        )
    except TherabillError as exc:
        fail_from(exc)
    _show(found, as_json)
    if not as_json:
        stdout.print(f"{len(found)} appointments")


@schedule_app.command("move")
def move_command(
    appointment: Annotated[str, typer.Argument(help="The appointment's id.")],
    at: Annotated[str, typer.Option("--at", help="New local start, YYYY-MM-DDTHH:MM.")],
    therapist: Annotated[str | None, typer.Option("--therapist", help="Another therapist.")] = None,
    room: Annotated[str | None, typer.Option("--room", help="Another room.")] = None,
    scope: ScopeOption = "one",
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reschedule one appointment, or it and the rest of its series (all or nothing)."""
    start = _at(at, "--at")
    if scope not in ("one", "rest"):
        fail("--scope: 'one' or 'rest'")
    try:
        engine, pid = open_practice(practice)
        if scope == "rest":
            moved = appointment_series.move_series_from(
                engine, pid, system_actor(), appointment, start_local=start
            )
        else:
            moved = [
                appointments.reschedule(
                    engine,
                    pid,
                    system_actor(),
                    appointment,
                    start_local=start,
                    provider_id=therapist,
                    room_id=room,
                )
            ]
    except TherabillError as exc:
        fail_from(exc)
    _show(moved, as_json)


@schedule_app.command("cancel")
def cancel_command(
    appointment: Annotated[str, typer.Argument(help="The appointment's id.")],
    scope: ScopeOption = "one",
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel (a late cancel with the policy's fee inside the window), or the rest of the series."""
    if scope not in ("one", "rest"):
        fail("--scope: 'one' or 'rest'")
    try:
        engine, pid = open_practice(practice)
        if scope == "rest":
            done = appointment_series.cancel_series_from(engine, pid, system_actor(), appointment)
        else:
            done = [appointments.cancel(engine, pid, system_actor(), appointment)]
    except TherabillError as exc:
        fail_from(exc)
    _show(done, as_json)


@schedule_app.command("status")
def status_command(
    appointment: Annotated[str, typer.Argument(help="The appointment's id.")],
    status: Annotated[
        str,
        typer.Argument(
            help="scheduled, confirmed, arrived (checked in), completed, no_show, late_cancel, cancelled."
        ),
    ],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change an appointment's status (a no-show posts the policy's fee)."""
    try:
        engine, pid = open_practice(practice)
        done = appointments.set_status(engine, pid, system_actor(), appointment, status)
    except TherabillError as exc:
        fail_from(exc)
    _show([done], as_json)


@schedule_app.command("service-add")
def service_add_command(
    name: Annotated[str, typer.Argument(help="What clients read, e.g. 'Massage 60 min'.")],
    minutes: Annotated[int, typer.Option("--minutes", help="Length.")],
    price: Annotated[str, typer.Option("--price", help="Price in dollars, e.g. 95.00.")],
    buffer: Annotated[int, typer.Option("--buffer", help="Minutes held after it.")] = 0,
    code: Annotated[list[str] | None, typer.Option("--code", help="Procedure code billed (repeat).")] = None,
    therapist: Annotated[list[str] | None, typer.Option("--therapist", help="Therapist id (repeat).")] = None,
    room: Annotated[list[str] | None, typer.Option("--room", help="Room id (repeat).")] = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Offer a service."""
    try:
        amount = Decimal(price)
    except InvalidOperation:
        fail(f"--price: {price!r} is not an amount")
    try:
        engine, pid = open_practice(practice)
        made = schedule_setup.add_service(
            engine, pid, system_actor(), name=name, duration_minutes=minutes, price=amount, buffer_minutes=buffer,
            codes=code or [], provider_ids=therapist or [], room_ids=room or [],
        )  # fmt: skip
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"id": made.id, "name": made.name, "price": str(made.price)})
    else:
        stdout.print(f"{made.name}: {made.duration_minutes} min, ${made.price} ({made.id})")


@schedule_app.command("room-add")
def room_add_command(
    name: Annotated[str, typer.Argument(help="The room's or table's name.")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a room or table."""
    try:
        engine, pid = open_practice(practice)
        made = schedule_setup.add_room(engine, pid, system_actor(), name=name)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"id": made.id, "name": made.name})
    else:
        stdout.print(f"{made.name} ({made.id})")


@schedule_app.command("hours")
def hours_command(
    therapist: Annotated[str, typer.Argument(help="The therapist's id.")],
    stretch: Annotated[
        list[str], typer.Option("--on", help="WEEKDAY=HH:MM-HH:MM, weekday 0 (Monday) to 6 (repeat).")
    ],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace a therapist's weekly working hours."""
    hours = []
    for item in stretch:
        try:
            day_text, _, span = item.partition("=")
            start, _, end = span.partition("-")
            hours.append((int(day_text), start, end))
        except ValueError:
            fail(f"--on: {item!r} is not WEEKDAY=HH:MM-HH:MM")
    try:
        engine, pid = open_practice(practice)
        schedule_setup.set_working_hours(engine, pid, system_actor(), therapist, hours)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json([{"weekday": d, "start": s, "end": e} for d, s, e in hours])
        return
    stdout.print(f"{len(hours)} working stretches on file")


@schedule_app.command("slots")
def slots_command(
    service: Annotated[str, typer.Option("--service", help="Service id.")],
    day: Annotated[str, typer.Option("--day", help="Local day, YYYY-MM-DD.")],
    therapist: Annotated[str | None, typer.Option("--therapist", help="Only this therapist.")] = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Free starts for a service on a day."""
    when: date = option_day(day, "--day", date.min)
    try:
        engine, pid = open_practice(practice)
        found = availability.availability(
            engine, pid, system_actor(), service_id=service, day=when, provider_id=therapist
        )
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            [
                {"start_local": s.start_local.isoformat(), "provider_id": s.provider_id, "room_id": s.room_id}
                for s in found
            ]
        )
        return
    for s in found:
        stdout.print(f"{s.start_local:%-I:%M %p}  {s.provider_name}")


def _flag(on: bool, off: bool, option: str) -> bool | None:
    if on and off:
        fail(f"{option}: give one of --{option} / --no-{option}")
    return True if on else False if off else None


@schedule_app.command("service-edit")
def service_edit_command(
    service: Annotated[str, typer.Argument(help="The service's id.")],
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    minutes: Annotated[int | None, typer.Option("--minutes", help="New length.")] = None,
    price: Annotated[str | None, typer.Option("--price", help="New price in dollars.")] = None,
    buffer: Annotated[int | None, typer.Option("--buffer", help="Minutes held after it.")] = None,
    therapist: Annotated[
        list[str] | None, typer.Option("--therapist", help="Therapist id (repeat; replaces the list).")
    ] = None,
    room: Annotated[
        list[str] | None, typer.Option("--room", help="Room id (repeat; replaces the list).")
    ] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="No longer offered for new bookings.")] = False,
    active: Annotated[bool, typer.Option("--active", help="Offered again.")] = False,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a service (what is booked keeps its times)."""
    amount = None
    if price is not None:
        try:
            amount = Decimal(price)
        except InvalidOperation:
            fail(f"--price: {price!r} is not an amount")
    offered = _flag(active, inactive, "active")
    try:
        engine, pid = open_practice(practice)
        made = schedule_setup.update_service(
            engine, pid, system_actor(), service, name=name, duration_minutes=minutes, price=amount,
            buffer_minutes=buffer, provider_ids=therapist, room_ids=room, active=offered,
        )  # fmt: skip
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"id": made.id, "name": made.name, "price": str(made.price), "active": made.active})
    else:
        state = "" if made.active else " (not offered)"
        stdout.print(f"{made.name}: {made.duration_minutes} min, ${made.price}{state}")


@schedule_app.command("room-edit")
def room_edit_command(
    room: Annotated[str, typer.Argument(help="The room's id.")],
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="Take it out of use.")] = False,
    active: Annotated[bool, typer.Option("--active", help="Back in use.")] = False,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rename a room or take it out of (or back into) use."""
    usable = _flag(active, inactive, "active")
    try:
        engine, pid = open_practice(practice)
        made = schedule_setup.update_room(engine, pid, system_actor(), room, name=name, active=usable)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"id": room, "name": made.name, "active": made.active})
        return
    stdout.print(f"{made.name}{'' if made.active else ' (out of use)'}")


@schedule_app.command("time-off")
def time_off_command(
    therapist: Annotated[str | None, typer.Option("--therapist", help="Only this therapist.")] = None,
    past: Annotated[bool, typer.Option("--past", help="Include stretches that ended.")] = False,
    add_from: Annotated[
        str | None, typer.Option("--add-from", help="Add: local start, YYYY-MM-DDTHH:MM.")
    ] = None,
    add_to: Annotated[str | None, typer.Option("--add-to", help="Add: local end.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Add: why.")] = None,
    delete: Annotated[str | None, typer.Option("--delete", help="Remove the stretch with this id.")] = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """List a therapist's (or everyone's) time off; add (--therapist, --add-from, --add-to) or remove one."""
    try:
        engine, pid = open_practice(practice)
        if delete:
            schedule_setup.delete_time_off(engine, pid, system_actor(), delete)
        if add_from or add_to:
            if not (therapist and add_from and add_to):
                fail("adding time off needs --therapist, --add-from and --add-to")
            schedule_setup.add_time_off(
                engine, pid, system_actor(), therapist, start_local=_at(add_from, "--add-from"),
                end_local=_at(add_to, "--add-to"), reason=reason,
            )  # fmt: skip
        found = schedule_setup.list_time_off(
            engine, pid, system_actor(), provider_id=therapist, include_past=past
        )
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json([t.as_dict() for t in found])
        return
    for t in found:
        why = f"  {t.reason}" if t.reason else ""
        stdout.print(
            f"{t.start_local:%a %b %-d %-I:%M %p} – {t.end_local:%a %b %-d %-I:%M %p}  {t.provider_name}{why}  {t.id}"
        )
    if not found:
        stdout.print("No time off on file.")


@schedule_app.command("feed")
def feed_command(
    therapist: Annotated[str, typer.Argument(help="The therapist's id.")],
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Revoke every feed URL issued so far (they answer 410 Gone).")
    ] = False,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Revoke the old URLs and print the new one.")
    ] = False,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a new signed iCalendar feed URL of a therapist's appointments (valid a year)."""
    settings = Settings()
    if revoke and rotate:
        fail(
            "give --revoke or --rotate, not both", [Problem("feed-option-conflict", "revoke", "one of them")]
        )
    try:
        engine, pid = open_practice(practice)
        operator = Principal("os", system_actor(), system_actor(), pid, "owner")
        if revoke:
            calendar_feed.revoke_feed(engine, operator, system_actor(), therapist)
            stdout.print("The therapist's calendar feed URLs are revoked.")
            return
        make = calendar_feed.rotate_feed if rotate else calendar_feed.feed_link
        token = make(engine, operator, system_actor(), therapist)
    except TherabillError as exc:
        fail_from(exc)
    link = f"{settings.link_base()}/calendar/feed/{token}.ics"
    if as_json:
        print_json({"therapist": therapist, "url": link})
        return
    stdout.print(link)
