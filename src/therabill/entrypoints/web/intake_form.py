"""The intake (health history) form: form fields ↔ the intake document of ``domain.intake``.

Field names: ``reason_for_care``; ``onset_date``, ``onset_mechanism``, ``onset_description``,
``accident_state``, ``accident_date``, ``claim_number``; rows ``cond-N-name|regions|since|notes``,
``event-N-kind|description|date|regions``, ``med-N-name|purpose``,
``allergy-N-substance|kind|reaction``, ``device-N-name|regions``; ``pregnant`` (checkbox),
``pregnancy_weeks``, ``due_date``, ``high_risk`` (checkbox); ``avoid_regions`` (comma list,
filled by the body diagram) and ``avoid_reason``; ``pressure_preference``; ``ec_name``,
``ec_phone``, ``ec_relationship``; ``doc_name``, ``doc_phone``, ``doc_npi``; per consent
(``treatment``, ``release_of_information``, ``assignment_of_benefits``)
``consent-X-given`` (checkbox), ``consent-X-date``, ``consent-X-method``; ``notes``.

Empty rows are left out. A value that is not a number where one is needed is passed through
as text, so the intake reader reports it with its path (``pregnancy.weeks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from therabill.domain.intake import ALLERGY_KINDS, CONSENT_METHODS, EVENT_KINDS, MECHANISMS, PRESSURES

CONDITION_ROWS = 4
EVENT_ROWS = 3
MEDICATION_ROWS = 4
ALLERGY_ROWS = 3
DEVICE_ROWS = 2
CONSENTS = (
    ("treatment", "Consent to treatment"),
    ("release_of_information", "Release of information needed to bill my insurance"),
    ("assignment_of_benefits", "Assignment of benefits: my insurer pays the practice directly"),
)
CHOICES = {
    "mechanisms": MECHANISMS,
    "event_kinds": EVENT_KINDS,
    "allergy_kinds": ALLERGY_KINDS,
    "pressures": PRESSURES,
    "methods": CONSENT_METHODS,
}


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _opt(form: Mapping[str, Any], name: str) -> str | None:
    return _text(form, name) or None


def _regions(value: str) -> list[str]:
    return [v.strip() for v in value.replace(";", ",").replace(" ", ",").split(",") if v.strip()]


def _checked(form: Mapping[str, Any], name: str) -> bool:
    return _text(form, name) in ("on", "true", "1", "yes")


def _contact(form: Mapping[str, Any], prefix: str, extra: str) -> dict[str, Any] | None:
    parts = {"name": _text(form, f"{prefix}_name"), "phone": _text(form, f"{prefix}_phone")}
    parts[extra] = _text(form, f"{prefix}_{extra}")
    if not any(parts.values()):
        return None
    return {k: v or None for k, v in parts.items()} | {"name": parts["name"]}


def intake_document(form: Mapping[str, Any]) -> dict[str, Any]:
    """The intake document (``intake_from_dict`` shape) from the form's fields."""
    doc: dict[str, Any] = {}
    if reason := _text(form, "reason_for_care"):
        doc["reason_for_care"] = reason
    onset = {
        "date": _opt(form, "onset_date"),
        "mechanism": _opt(form, "onset_mechanism"),
        "description": _opt(form, "onset_description"),
        "accident_state": _opt(form, "accident_state"),
        "accident_date": _opt(form, "accident_date"),
        "claim_number": _opt(form, "claim_number"),
    }
    if any(onset.values()):
        doc["onset"] = {k: v for k, v in onset.items() if v is not None}
    conditions = []
    for i in range(CONDITION_ROWS):
        name = _text(form, f"cond-{i}-name")
        if name:
            conditions.append(
                {
                    "name": name,
                    "regions": _regions(_text(form, f"cond-{i}-regions")),
                    "since": _opt(form, f"cond-{i}-since"),
                    "notes": _opt(form, f"cond-{i}-notes"),
                }
            )
    events = []
    for i in range(EVENT_ROWS):
        description = _text(form, f"event-{i}-description")
        if description:
            events.append(
                {
                    "kind": _opt(form, f"event-{i}-kind"),
                    "description": description,
                    "date": _opt(form, f"event-{i}-date"),
                    "regions": _regions(_text(form, f"event-{i}-regions")),
                }
            )
    medications = [
        {"name": _text(form, f"med-{i}-name"), "purpose": _opt(form, f"med-{i}-purpose")}
        for i in range(MEDICATION_ROWS)
        if _text(form, f"med-{i}-name")
    ]
    allergies = [
        {
            "substance": _text(form, f"allergy-{i}-substance"),
            "kind": _opt(form, f"allergy-{i}-kind"),
            "reaction": _opt(form, f"allergy-{i}-reaction"),
        }
        for i in range(ALLERGY_ROWS)
        if _text(form, f"allergy-{i}-substance")
    ]
    devices = [
        {"name": _text(form, f"device-{i}-name"), "regions": _regions(_text(form, f"device-{i}-regions"))}
        for i in range(DEVICE_ROWS)
        if _text(form, f"device-{i}-name")
    ]
    lists = {
        "current_conditions": conditions,
        "past_events": events,
        "medications": medications,
        "allergies": allergies,
        "devices": devices,
    }
    doc.update({key: rows for key, rows in lists.items() if rows})
    if _checked(form, "pregnant"):
        weeks = _text(form, "pregnancy_weeks")
        doc["pregnancy"] = {
            "pregnant": True,
            "weeks": (int(weeks) if weeks.isdigit() else weeks) if weeks else None,
            "due_date": _opt(form, "due_date"),
            "high_risk": _checked(form, "high_risk"),
        }
    reason_avoid = _opt(form, "avoid_reason")
    avoid = _regions(_text(form, "avoid_regions"))
    if avoid:
        doc["areas_to_avoid"] = [{"region": r, "reason": reason_avoid} for r in dict.fromkeys(avoid)]
    if pressure := _opt(form, "pressure_preference"):
        doc["pressure_preference"] = pressure
    if ec := _contact(form, "ec", "relationship"):
        doc["emergency_contact"] = ec
    if physician := _contact(form, "doc", "npi"):
        doc["physician"] = physician
    consents = {}
    for key, _label in CONSENTS:
        given = _checked(form, f"consent-{key}-given")
        date = _opt(form, f"consent-{key}-date")
        method = _opt(form, f"consent-{key}-method")
        if given or date or method:
            consents[key] = {"given": given, "date": date, "method": method}
    if consents:
        doc["consents"] = consents
    if notes := _text(form, "notes"):
        doc["notes"] = notes
    return doc


def form_values(content: Mapping[str, Any] | None) -> dict[str, str]:
    """The form's field values of a stored intake document (``intake_to_dict`` shape).

    ``intake_document(form_values(x))`` gives back the same record as ``x``.
    """
    c = content or {}
    v: dict[str, str] = {}

    def put(name: str, value: Any) -> None:
        if value is None or value == "" or value == []:
            return
        if isinstance(value, bool):
            v[name] = "on" if value else ""
        elif isinstance(value, list):
            v[name] = ",".join(str(x) for x in value)
        else:
            v[name] = str(value)

    put("reason_for_care", c.get("reason_for_care"))
    onset = c.get("onset") or {}
    for field, name in (
        ("date", "onset_date"),
        ("mechanism", "onset_mechanism"),
        ("description", "onset_description"),
        ("accident_state", "accident_state"),
        ("accident_date", "accident_date"),
        ("claim_number", "claim_number"),
    ):
        put(name, onset.get(field))
    for i, cond in enumerate((c.get("current_conditions") or [])[:CONDITION_ROWS]):
        for part in ("name", "regions", "since", "notes"):
            put(f"cond-{i}-{part}", cond.get(part))
    for i, ev in enumerate((c.get("past_events") or [])[:EVENT_ROWS]):
        for part in ("kind", "description", "date", "regions"):
            put(f"event-{i}-{part}", ev.get(part))
    for i, med in enumerate((c.get("medications") or [])[:MEDICATION_ROWS]):
        put(f"med-{i}-name", med.get("name"))
        put(f"med-{i}-purpose", med.get("purpose"))
    for i, al in enumerate((c.get("allergies") or [])[:ALLERGY_ROWS]):
        for part in ("substance", "kind", "reaction"):
            put(f"allergy-{i}-{part}", al.get(part))
    for i, dev in enumerate((c.get("devices") or [])[:DEVICE_ROWS]):
        put(f"device-{i}-name", dev.get("name"))
        put(f"device-{i}-regions", dev.get("regions"))
    preg = c.get("pregnancy") or {}
    if preg.get("pregnant"):
        put("pregnant", True)
        put("pregnancy_weeks", preg.get("weeks"))
        put("due_date", preg.get("due_date"))
        put("high_risk", bool(preg.get("high_risk")))
    avoid = c.get("areas_to_avoid") or []
    put("avoid_regions", [a.get("region") for a in avoid])
    reasons = sorted({a.get("reason") for a in avoid if a.get("reason")})
    put("avoid_reason", "; ".join(reasons))
    put("pressure_preference", c.get("pressure_preference"))
    ec = c.get("emergency_contact") or {}
    put("ec_name", ec.get("name"))
    put("ec_phone", ec.get("phone"))
    put("ec_relationship", ec.get("relationship"))
    doc = c.get("physician") or {}
    put("doc_name", doc.get("name"))
    put("doc_phone", doc.get("phone"))
    put("doc_npi", doc.get("npi"))
    for key, _label in CONSENTS:
        one = (c.get("consents") or {}).get(key) or {}
        if one.get("given"):
            put(f"consent-{key}-given", True)
        put(f"consent-{key}-date", one.get("date"))
        put(f"consent-{key}-method", one.get("method"))
    put("notes", c.get("notes"))
    return {k: val for k, val in v.items() if val}
