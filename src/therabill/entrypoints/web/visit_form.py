"""The visit documentation form: form fields ↔ the visit part of an encounter document.

Field names: ``date_of_service``, ``start_time``, ``end_time``, ``diagnoses`` (comma list),
``svc-N-code``, ``svc-N-minutes``, ``svc-N-modifiers``, ``svc-N-regions`` (comma list, filled
by the body diagram), ``svc-N-techniques``, ``svc-N-pointers``; the SOAP fields; ``pain_scale``;
``rom-N-joint|motion|degrees``; ``goal-N-description|baseline|target|target_date``; the accident
and employment facts ``rc-employment|auto_accident|other_accident`` (checkboxes) and
``rc-auto_accident_state|accident_date|property_casualty_claim_number|employer_name``.
A field that is not a number where one is needed is passed through as text, so the schema
reports it with its path (``services[0].minutes``) instead of the form guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from therabill.refdata.catalog import BodyRegion, body_regions

SERVICE_ROWS = 4
ROM_ROWS = 2
GOAL_ROWS = 2

SOAP_FIELDS = ("subjective", "assessment", "plan", "medical_necessity")
SESSION_FIELDS = (
    "changes_since_last_visit",
    "pre_session_assessment",
    "post_session_advice",
    "client_feedback",
)
"""What a complete massage record holds beside the SOAP note (documentation fields)."""
NOTE_FIELDS = SOAP_FIELDS + SESSION_FIELDS
NOTE_LABELS = {
    "subjective": "Subjective",
    "assessment": "Assessment",
    "plan": "Plan",
    "medical_necessity": "Medical necessity",
    "changes_since_last_visit": "Changes since the last visit",
    "pre_session_assessment": "Pre-session assessment",
    "post_session_advice": "Post-session advice (self-care, homework)",
    "client_feedback": "Client feedback after the session",
}


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _int_or_text(value: str) -> int | str:
    return int(value) if value.lstrip("-").isdigit() else value


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.replace(";", ",").replace(" ", ",").split(",") if v.strip()]


def documentation(form: Mapping[str, Any]) -> dict[str, Any]:
    """The ``documentation`` part (note, pain, range of motion, goals) from the form's fields."""
    objective: dict[str, Any] = {"range_of_motion": []}
    pain = _text(form, "pain_scale")
    if pain:
        objective["pain_scale"] = _int_or_text(pain)
    for i in range(ROM_ROWS):
        joint = _text(form, f"rom-{i}-joint")
        if joint:
            objective["range_of_motion"].append(
                {
                    "joint": joint,
                    "motion": _text(form, f"rom-{i}-motion"),
                    "degrees": _int_or_text(_text(form, f"rom-{i}-degrees") or "0"),
                }
            )
    goals = []
    for i in range(GOAL_ROWS):
        description = _text(form, f"goal-{i}-description")
        if description:
            goal: dict[str, Any] = {"description": description}
            for part in ("baseline", "target", "target_date"):
                value = _text(form, f"goal-{i}-{part}")
                if value:
                    goal[part] = value
            goals.append(goal)
    out: dict[str, Any] = {"objective": objective, "goals": goals}
    for name in NOTE_FIELDS:
        value = _text(form, name)
        if value:
            out[name] = value
    return out


def note_values(documentation: Mapping[str, Any] | None) -> dict[str, str]:
    """Form values of a stored ``documentation`` (to edit a saved note)."""
    doc = documentation or {}
    values: dict[str, str] = {k: str(doc[k]) for k in NOTE_FIELDS if doc.get(k)}
    objective = doc.get("objective") or {}
    if objective.get("pain_scale") is not None:
        values["pain_scale"] = str(objective["pain_scale"])
    for i, rom in enumerate((objective.get("range_of_motion") or [])[:ROM_ROWS]):
        for part in ("joint", "motion", "degrees"):
            if rom.get(part) is not None:
                values[f"rom-{i}-{part}"] = str(rom[part])
    for i, goal in enumerate((doc.get("goals") or [])[:GOAL_ROWS]):
        for part in ("description", "baseline", "target", "target_date"):
            if goal.get(part):
                values[f"goal-{i}-{part}"] = str(goal[part])
    return values


def visit_document(form: Mapping[str, Any]) -> dict[str, Any]:
    """The visit part of an encounter document from the form's fields."""
    services = []
    for i in range(SERVICE_ROWS):
        code = _text(form, f"svc-{i}-code")
        if not code:
            continue
        pointers = [_int_or_text(p) for p in _list(_text(form, f"svc-{i}-pointers"))]
        services.append(
            {
                "code": code,
                "minutes": _int_or_text(_text(form, f"svc-{i}-minutes") or "0"),
                "modifiers": [m.upper() for m in _list(_text(form, f"svc-{i}-modifiers"))],
                "diagnosis_pointers": pointers,
                "body_regions": _list(_text(form, f"svc-{i}-regions")),
                "techniques": [t.strip() for t in _text(form, f"svc-{i}-techniques").split(",") if t.strip()],
            }
        )
    doc: dict[str, Any] = {
        "diagnoses": [d.upper() for d in _list(_text(form, "diagnoses"))],
        "services": services,
        "documentation": documentation(form),
    }
    for name in ("start_time", "end_time"):
        value = _text(form, name)
        if value:
            doc[name] = value
    causes = related_causes(form)
    if causes is not None:
        doc["related_causes"] = causes
    return doc


CAUSE_FLAGS = ("employment", "auto_accident", "other_accident")
CAUSE_TEXTS = ("auto_accident_state", "accident_date", "property_casualty_claim_number", "employer_name")


def related_causes(form: Mapping[str, Any]) -> dict[str, Any] | None:
    """The accident and employment facts (``rc-*`` fields; box 10, CLM11) when the form has
    them (``rc-present``); every cause unchecked says "not related" (it ends a case)."""
    if not _text(form, "rc-present"):
        return None
    out: dict[str, Any] = {flag: bool(_text(form, f"rc-{flag}")) for flag in CAUSE_FLAGS}
    for name in CAUSE_TEXTS:
        value = _text(form, f"rc-{name}")
        out[name] = (value.upper() if name == "auto_accident_state" else value) or None
    return out


def cause_values(causes: Mapping[str, Any] | None) -> dict[str, str]:
    """Form values (``rc-*``) of stored accident facts (to pre-fill or edit the form)."""
    values: dict[str, str] = {}
    for flag in CAUSE_FLAGS:
        if causes and causes.get(flag):
            values[f"rc-{flag}"] = "1"
    for name in CAUSE_TEXTS:
        if causes and causes.get(name):
            values[f"rc-{name}"] = str(causes[name])
    return values


def keep_service_extras(services: list[dict[str, Any]], stored: list[Any]) -> list[dict[str, Any]]:
    """The form's services with the stored lines' fee and billed units kept where the code
    is the same (the form does not show them)."""
    out = []
    for i, svc in enumerate(services):
        old = stored[i] if i < len(stored) and isinstance(stored[i], Mapping) else {}
        merged = dict(svc)
        if old.get("code") == svc.get("code"):
            for key in ("unit_charge", "units"):
                if old.get(key) is not None:
                    merged[key] = old[key]
        out.append(merged)
    return out


def document_values(doc: Mapping[str, Any]) -> dict[str, str]:
    """Form values of a stored visit document (to edit the saved visit)."""
    values = note_values(doc.get("documentation"))
    for name in ("start_time", "end_time"):
        if doc.get(name):
            values[name] = str(doc[name])
    values["diagnoses"] = ", ".join(doc.get("diagnoses") or [])
    for i, svc in enumerate((doc.get("services") or [])[:SERVICE_ROWS]):
        values[f"svc-{i}-code"] = str(svc.get("code", ""))
        values[f"svc-{i}-minutes"] = str(svc.get("minutes", ""))
        values[f"svc-{i}-modifiers"] = ", ".join(svc.get("modifiers") or [])
        values[f"svc-{i}-pointers"] = ", ".join(str(x) for x in svc.get("diagnosis_pointers") or [])
        values[f"svc-{i}-regions"] = ", ".join(svc.get("body_regions") or [])
        values[f"svc-{i}-techniques"] = ", ".join(svc.get("techniques") or [])
    values.update(cause_values(doc.get("related_causes")))
    return values


# --- the body diagram ------------------------------------------------------------------

# Shapes of a front-facing schematic figure (drawn in x 44..156, y 0..340: the viewBox
# ``DIAGRAM_VIEWBOX``); the figure's right is the viewer's left. Each region id of the
# vocabulary has one or more rectangles (x, y, w, h), none narrower than 10 units, so that at
# the drawn width (300 px for 116 units) every region is a tap target of at least 24 px.
DIAGRAM_VIEWBOX = "42 0 116 340"
_SHAPES: dict[str, list[tuple[int, int, int, int]]] = {
    "head": [(86, 4, 28, 22)],
    "face": [(90, 26, 20, 14)],
    "tmj_right": [(79, 28, 10, 12)],
    "tmj_left": [(111, 28, 10, 12)],
    "cervical": [(92, 42, 16, 14)],
    "shoulder_right": [(58, 58, 24, 16)],
    "shoulder_left": [(118, 58, 24, 16)],
    "chest": [(84, 58, 32, 22)],
    "thoracic": [(92, 82, 16, 30)],
    "rib_cage": [(76, 82, 15, 30), (109, 82, 15, 30)],
    "abdomen": [(76, 114, 15, 24), (109, 114, 15, 24)],
    "lumbar": [(92, 114, 16, 24)],
    "sacral": [(92, 140, 16, 14)],
    "pelvic": [(76, 140, 15, 14), (109, 140, 15, 14)],
    "gluteal_right": [(76, 156, 23, 16)],
    "gluteal_left": [(101, 156, 23, 16)],
    "hip_right": [(62, 140, 12, 30)],
    "hip_left": [(126, 140, 12, 30)],
    "upper_arm_right": [(56, 76, 16, 40)],
    "upper_arm_left": [(128, 76, 16, 40)],
    "elbow_right": [(54, 118, 16, 12)],
    "elbow_left": [(130, 118, 16, 12)],
    "forearm_right": [(50, 132, 16, 34)],
    "forearm_left": [(134, 132, 16, 34)],
    "wrist_hand_right": [(46, 168, 18, 24)],
    "wrist_hand_left": [(136, 168, 18, 24)],
    "thigh_right": [(78, 174, 20, 60)],
    "thigh_left": [(102, 174, 20, 60)],
    "knee_right": [(78, 236, 20, 16)],
    "knee_left": [(102, 236, 20, 16)],
    "lower_leg_right": [(79, 254, 18, 60)],
    "lower_leg_left": [(103, 254, 18, 60)],
    "ankle_foot_right": [(74, 316, 24, 20)],
    "ankle_foot_left": [(102, 316, 24, 20)],
}


@dataclass(frozen=True)
class RegionShape:
    """A clickable region of the body diagram.

    Attributes:
        region: the vocabulary entry.
        rects: its rectangles (x, y, width, height).
    """

    region: BodyRegion
    rects: list[tuple[int, int, int, int]]


def body_diagram() -> list[RegionShape]:
    """Every region of the vocabulary with its shapes (a region without a shape is an error)."""
    regions = body_regions()
    missing = sorted(set(regions) - set(_SHAPES))
    if missing:
        raise RuntimeError(f"the body diagram lacks regions: {', '.join(missing)}")
    return [RegionShape(regions[rid], _SHAPES[rid]) for rid in regions]
