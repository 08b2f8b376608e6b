"""Client intake and health history, the contraindication check and clearance.

The health history is what a client (or the front desk) fills in before the first session and
updates later; every update is a new version and older versions stay. The therapist reviews
and signs a version.

``check_visit(intake, visit, table)`` compares a version with what a visit treats and with the
table of conditions and medications that change what a therapist may do (shipped as
``refdata/data/contraindications.toml``). It returns results of three kinds:

* ``absolute``: do not treat (for example fever, deep vein thrombosis). A treated visit with
  an absolute result cannot be billed until the therapist records a clearance (for example
  a physician's note). The visit note is never blocked.
* ``local``: do not work on the named body regions (a recent surgical site, an open wound,
  an area the client asked to avoid, the chest over a pacemaker).
* ``precaution``: treatment is fine with care (pregnancy, anticoagulants, osteoporosis).

``claim_fields(intake)`` maps the client's consents to the encounter's ``consent``
(release of information: CLM09 and box 12; assignment of benefits: CLM08 and box 13; the
signature date is printed on paper forms only) and the onset and mechanism of injury to
``onset_date`` and ``related_causes``.

Everything here is pure: documents come in as plain ``dict`` values (``intake_from_dict``)
and go out the same way (``intake_to_dict``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from therabill.domain.encounter import Consent, Encounter, RelatedCauses
from therabill.domain.errors import Problem, TherabillError

Day = date
"""An alias of ``datetime.date`` for classes that have a field named ``date``."""

__all__ = [
    "CONSENT_METHODS",
    "MECHANISMS",
    "PRESSURES",
    "Allergy",
    "AvoidArea",
    "CheckResult",
    "Clearance",
    "Condition",
    "ConsentGiven",
    "Consents",
    "Contact",
    "ContraindicationCheck",
    "ContraindicationRule",
    "ContraindicationTable",
    "Device",
    "IntakeError",
    "IntakeRecord",
    "IntakeVersion",
    "Kind",
    "Medication",
    "Onset",
    "apply_to_encounter",
    "PastEvent",
    "Pregnancy",
    "VisitFacts",
    "VisitNotBillableError",
    "billing_problems",
    "check_visit",
    "claim_fields",
    "intake_from_dict",
    "intake_to_dict",
    "next_version",
    "uncleared",
]

MECHANISMS = ("gradual", "auto_accident", "work", "other_accident", "sports", "surgery", "unknown")
"""How the condition started. ``auto_accident``, ``work`` and ``other_accident`` set the claim's
related causes (CLM11, box 10); ``sports`` is an injury that is not billed as an accident."""

PRESSURES = ("light", "medium", "firm", "deep")
CONSENT_METHODS = ("paper", "electronic", "verbal")
"""How a consent was given: signed on paper, signed electronically, or given verbally (noted)."""

EVENT_KINDS = ("surgery", "injury", "illness")
ALLERGY_KINDS = ("topical", "food", "drug", "environmental", "other")
"""``topical`` covers massage oils, lotions, creams and their scents (nut oils, lanolin...)."""


class IntakeError(TherabillError):
    """An intake document or use is not acceptable (the problems say where)."""

    code = "intake-invalid"


class VisitNotBillableError(IntakeError):
    """A treated visit has an uncleared absolute contraindication: no claim until it is cleared.

    Each problem is ``intake-contraindication-uncleared`` at the intake item that matched.
    """

    code = "visit-not-billable"


class Kind(StrEnum):
    """What a contraindication means for the session."""

    ABSOLUTE = "absolute"
    LOCAL = "local"
    PRECAUTION = "precaution"


# ------------------------------------------------------------------------------- the record


@dataclass(frozen=True, slots=True)
class Onset:
    """When and how the condition that brings the client began.

    Attributes:
        date: the onset date (DTP*431, box 14).
        mechanism: one of ``MECHANISMS``.
        description: what happened, in the client's words.
        accident_state: state of an auto accident (CLM11-4, box 10b).
        accident_date: date of the accident, when it differs from the onset (DTP*439, box 15).
        claim_number: a property and casualty (auto or workers' comp) claim number (box 11b).
    """

    date: date | None = None
    mechanism: str = "unknown"
    description: str | None = None
    accident_state: str | None = None
    accident_date: Day | None = None
    claim_number: str | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """A current health condition.

    Attributes:
        name: the condition as named by the client or the therapist.
        regions: body regions it concerns (vocabulary ids), if local.
        since: when it began, if known.
        notes: anything else.
    """

    name: str
    regions: tuple[str, ...] = ()
    since: date | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class PastEvent:
    """A past surgery, injury or illness.

    Attributes:
        kind: ``surgery``, ``injury`` or ``illness``.
        description: what it was.
        date: when (recent surgery is checked against the visit date).
        regions: body regions it concerns.
    """

    kind: str
    description: str
    date: date | None = None
    regions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Medication:
    """A medication the client takes.

    Attributes:
        name: the drug's name (brand or generic).
        purpose: what it is taken for, if given.
    """

    name: str
    purpose: str | None = None


@dataclass(frozen=True, slots=True)
class Allergy:
    """An allergy or sensitivity.

    Attributes:
        substance: what the client reacts to (almond oil, lanolin, latex, fragrance...).
        kind: one of ``ALLERGY_KINDS``; ``topical`` for oils, lotions and creams.
        reaction: the reaction, if known.
    """

    substance: str
    kind: str = "other"
    reaction: str | None = None


@dataclass(frozen=True, slots=True)
class Pregnancy:
    """Pregnancy status.

    Attributes:
        pregnant: whether the client is pregnant.
        weeks: weeks of gestation at the time of the intake, if known.
        due_date: the due date, if known.
        high_risk: whether the pregnancy is high-risk (as the client or physician says).
    """

    pregnant: bool = False
    weeks: int | None = None
    due_date: date | None = None
    high_risk: bool = False


@dataclass(frozen=True, slots=True)
class Device:
    """An implanted or worn device (pacemaker, defibrillator, joint replacement, pump...).

    Attributes:
        name: what it is.
        regions: where it is, if known.
    """

    name: str
    regions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AvoidArea:
    """A body region the client asks the therapist not to work on.

    Attributes:
        region: the body-region id.
        reason: why, if given.
    """

    region: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    """A person to reach (emergency contact or physician).

    Attributes:
        name: the person's name.
        phone: phone number.
        relationship: relation to the client (emergency contact).
        npi: the physician's NPI, if known.
    """

    name: str
    phone: str | None = None
    relationship: str | None = None
    npi: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentGiven:
    """One consent of the client.

    Attributes:
        given: whether the client consented.
        date: the date of the signature or of the verbal consent.
        method: one of ``CONSENT_METHODS``.
    """

    given: bool = False
    date: date | None = None
    method: str | None = None


@dataclass(frozen=True, slots=True)
class Consents:
    """The client's consents.

    Attributes:
        treatment: consent to treatment.
        release_of_information: release of information needed to bill (CLM09, box 12).
        assignment_of_benefits: benefits paid to the provider (CLM08, box 13).
    """

    treatment: ConsentGiven = field(default_factory=ConsentGiven)
    release_of_information: ConsentGiven = field(default_factory=ConsentGiven)
    assignment_of_benefits: ConsentGiven = field(default_factory=ConsentGiven)


@dataclass(frozen=True, slots=True)
class IntakeRecord:
    """The content of one health-history version.

    Attributes:
        reason_for_care: why the client seeks care.
        onset: onset and mechanism of the condition.
        current_conditions: current health conditions.
        past_events: past surgeries, injuries and illnesses.
        medications: current medications.
        allergies: allergies, including massage oils and lotions.
        pregnancy: pregnancy status.
        devices: implanted or worn devices.
        areas_to_avoid: body regions not to work on.
        pressure_preference: one of ``PRESSURES``, if stated.
        emergency_contact: who to call in an emergency.
        physician: the client's physician.
        consents: the client's consents.
        notes: anything else the client wants the therapist to know.
    """

    reason_for_care: str | None = None
    onset: Onset = field(default_factory=Onset)
    current_conditions: tuple[Condition, ...] = ()
    past_events: tuple[PastEvent, ...] = ()
    medications: tuple[Medication, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    pregnancy: Pregnancy = field(default_factory=Pregnancy)
    devices: tuple[Device, ...] = ()
    areas_to_avoid: tuple[AvoidArea, ...] = ()
    pressure_preference: str | None = None
    emergency_contact: Contact | None = None
    physician: Contact | None = None
    consents: Consents = field(default_factory=Consents)
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class IntakeVersion:
    """One stored version of a client's health history.

    Attributes:
        id: the version's opaque id.
        patient_id: the client's opaque id.
        version: 1, 2, ... (never reused; the newest is current).
        record: the content.
        created_by: who entered it (front desk, the client through the form, a therapist).
        created_at: when it was entered.
        signed_by: the therapist who reviewed and signed it, if signed.
        signed_at: when it was signed.
    """

    id: str
    patient_id: str
    version: int
    record: IntakeRecord
    created_by: str
    created_at: datetime
    signed_by: str | None = None
    signed_at: datetime | None = None

    @property
    def signed(self) -> bool:
        """True when a therapist reviewed and signed this version."""
        return self.signed_by is not None


def next_version(history: Sequence[IntakeVersion]) -> int:
    """The number of the version to add after ``history`` (1 for the first)."""
    return max((v.version for v in history), default=0) + 1


# ------------------------------------------------------------------------- claim fields


def claim_fields(record: IntakeRecord) -> tuple[Consent, date | None, RelatedCauses]:
    """The encounter's ``consent``, ``onset_date`` and ``related_causes`` from an intake.

    Release of information sets CLM09 = ``Y`` and box 12 "SOF"; assignment of benefits sets
    CLM08 = ``Y`` and box 13 "SOF". The release's signature date goes to
    ``Consent.signature_date``, which only the paper form prints (box 12 date). The
    mechanism sets the related causes: ``work`` → employment, ``auto_accident`` → auto
    accident (with its state), ``other_accident`` → other accident; the accident date is the
    onset date unless given separately.
    """
    c = record.consents
    roi = c.release_of_information
    consent = Consent(
        release_of_information=roi.given,
        benefits_assigned=c.assignment_of_benefits.given,
        signature_date=roi.date if roi.given else None,
    )
    o = record.onset
    employment = o.mechanism == "work"
    auto = o.mechanism == "auto_accident"
    other = o.mechanism == "other_accident"
    causes = RelatedCauses(
        employment=employment,
        auto_accident=auto,
        auto_accident_state=o.accident_state if auto else None,
        other_accident=other,
        accident_date=(o.accident_date or o.date) if (employment or auto or other) else None,
        property_casualty_claim_number=o.claim_number if (employment or auto) else None,
    )
    return consent, o.date, causes


def apply_to_encounter(encounter: Encounter, record: IntakeRecord) -> Encounter:
    """The encounter with the intake's consent, and its onset and causes where it has none.

    The consent always comes from the intake (the signed form is the source of truth for
    signature on file); the onset date and related causes the visit documented win over the
    intake's.
    """
    consent, onset, causes = claim_fields(record)
    return replace(
        encounter,
        consent=consent,
        onset_date=encounter.onset_date or onset,
        related_causes=encounter.related_causes if encounter.related_causes.any else causes,
    )


# ------------------------------------------------------------------ contraindication table


@dataclass(frozen=True, slots=True)
class ContraindicationRule:
    """One entry of the contraindication table.

    Attributes:
        id: stable kebab-case id (``deep-vein-thrombosis``).
        label: what it is, for people.
        kind: absolute, local or precaution.
        applies_to: the intake parts it is matched against: ``conditions``, ``medications``,
            ``surgeries``, ``injuries``, ``devices``, ``pregnancy``, ``pregnancy_high_risk``,
            ``allergies_topical``, ``reported`` (what the client reports on the day).
        keywords: words or phrases matched case-insensitively on word boundaries; empty
            means every item of the part matches (used with ``within_days``).
        within_days: for dated items (surgeries, injuries): only this many days before the visit.
        default_regions: where not to work when the intake does not say (pacemaker: chest).
        guidance: what the therapist should do.
        source: where the entry comes from.
        review: True when the entry is not verified against its source ([M]).
    """

    id: str
    label: str
    kind: Kind
    applies_to: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    within_days: int | None = None
    default_regions: tuple[str, ...] = ()
    guidance: str = ""
    source: str = ""
    review: bool = False

    def matches(self, text: str) -> str | None:
        """The keyword found in ``text`` (case-insensitive, whole words), or ``None``."""
        if not self.keywords:
            return text
        low = text.lower()
        for kw in self.keywords:
            if re.search(r"(?<![a-z0-9])" + re.escape(kw.lower()) + r"(?![a-z0-9])", low):
                return kw
        return None


@dataclass(frozen=True, slots=True)
class ContraindicationTable:
    """The contraindication table with its provenance.

    Attributes:
        name: the data set's name.
        version: its version date.
        sources: documents it was compiled from.
        rules: the entries.
    """

    name: str
    version: str
    sources: tuple[str, ...]
    rules: tuple[ContraindicationRule, ...]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


# ----------------------------------------------------------------------------- the check


@dataclass(frozen=True, slots=True)
class VisitFacts:
    """What the check needs to know about a visit.

    Attributes:
        date_of_service: the visit date (recent surgery is counted back from it).
        regions_treated: body regions treated, per service line (empty tuple: not known).
        reported: conditions the client reports on the day (``fever``, ``flu``...).
        treated: whether treatment was given (False: "not treated, rescheduled").
    """

    date_of_service: date
    regions_treated: tuple[tuple[str, ...], ...] = ()
    reported: tuple[str, ...] = ()
    treated: bool = True

    @property
    def all_regions(self) -> frozenset[str]:
        """Every region treated on any line."""
        return frozenset(r for line in self.regions_treated for r in line)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One thing the therapist must know before treating.

    Attributes:
        rule_id: the table entry's id, or ``area-to-avoid`` for a client's request.
        label: the entry's label.
        kind: absolute, local or precaution.
        matched: the intake text that matched.
        loc: where in the intake (``medications[0].name``) or ``reported[0]``.
        regions: where not to work (local results).
        conflicts: regions this visit treated that are in ``regions`` (with line index).
        guidance: what to do.
        source: the entry's source.
        review: whether the entry is unverified ([M]).
    """

    rule_id: str
    label: str
    kind: Kind
    matched: str
    loc: str
    regions: tuple[str, ...] = ()
    conflicts: tuple[tuple[int, str], ...] = ()
    guidance: str = ""
    source: str = ""
    review: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape."""
        return {
            "rule_id": self.rule_id,
            "label": self.label,
            "kind": str(self.kind),
            "matched": self.matched,
            "loc": self.loc,
            "regions": list(self.regions),
            "conflicts": [{"line": i, "region": r} for i, r in self.conflicts],
            "guidance": self.guidance,
            "source": self.source,
            "review": self.review,
        }


@dataclass(frozen=True, slots=True)
class ContraindicationCheck:
    """The result of checking a visit against the intake.

    Attributes:
        intake_version: the intake version checked (``None``: no intake on file).
        intake_signed: whether that version is signed by a therapist.
        results: every result, absolute first.
        table: the table's name and version.
    """

    intake_version: int | None
    intake_signed: bool
    results: tuple[CheckResult, ...]
    table: str

    @property
    def absolute(self) -> tuple[CheckResult, ...]:
        """Results that mean: do not treat without clearance."""
        return tuple(r for r in self.results if r.kind is Kind.ABSOLUTE)

    @property
    def local(self) -> tuple[CheckResult, ...]:
        """Results that name regions not to work on."""
        return tuple(r for r in self.results if r.kind is Kind.LOCAL)

    @property
    def precautions(self) -> tuple[CheckResult, ...]:
        """Results that call for care."""
        return tuple(r for r in self.results if r.kind is Kind.PRECAUTION)

    @property
    def avoid_regions(self) -> tuple[str, ...]:
        """Every region not to work on, sorted (for the body diagram)."""
        return tuple(sorted({reg for r in self.local for reg in r.regions}))

    @property
    def conflicts(self) -> tuple[tuple[int, str], ...]:
        """(line, region) pairs where the visit treated a region not to work on."""
        return tuple(sorted({c for r in self.local for c in r.conflicts}))

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (CLI ``--json``, API, web page)."""
        return {
            "intake_version": self.intake_version,
            "intake_signed": self.intake_signed,
            "table": self.table,
            "avoid_regions": list(self.avoid_regions),
            "results": [r.as_dict() for r in self.results],
        }


_EVENT_PARTS = {"surgeries": "surgery", "injuries": "injury", "illnesses": "illness"}
_ORDER = {Kind.ABSOLUTE: 0, Kind.LOCAL: 1, Kind.PRECAUTION: 2}


def _texts(
    record: IntakeRecord, facts: VisitFacts, part: str
) -> Iterable[tuple[str, str, tuple[str, ...], date | None]]:
    """(text, loc, regions, date) of the intake items of one part."""
    if part == "conditions":
        for i, c in enumerate(record.current_conditions):
            yield c.name + (f" {c.notes}" if c.notes else ""), f"current_conditions[{i}]", c.regions, c.since
    elif part in _EVENT_PARTS:
        for i, e in enumerate(record.past_events):
            if e.kind == _EVENT_PARTS[part]:
                yield e.description, f"past_events[{i}]", e.regions, e.date
    elif part == "medications":
        for i, m in enumerate(record.medications):
            yield m.name + (f" {m.purpose}" if m.purpose else ""), f"medications[{i}]", (), None
    elif part == "devices":
        for i, d in enumerate(record.devices):
            yield d.name, f"devices[{i}]", d.regions, None
    elif part == "allergies_topical":
        for i, a in enumerate(record.allergies):
            if a.kind == "topical":
                yield a.substance, f"allergies[{i}]", (), None
    elif part == "pregnancy":
        if record.pregnancy.pregnant:
            weeks = f" ({record.pregnancy.weeks} weeks)" if record.pregnancy.weeks else ""
            yield f"pregnant{weeks}", "pregnancy", (), None
    elif part == "pregnancy_high_risk":
        if record.pregnancy.pregnant and record.pregnancy.high_risk:
            yield "high-risk pregnancy", "pregnancy.high_risk", (), None
    elif part == "reported":
        for i, text in enumerate(facts.reported):
            yield text, f"reported[{i}]", (), None


def check_visit(
    record: IntakeRecord | None,
    facts: VisitFacts,
    table: ContraindicationTable,
    *,
    intake_version: int | None = None,
    intake_signed: bool = False,
) -> ContraindicationCheck:
    """Check a visit against the client's intake and the contraindication table.

    Args:
        record: the current intake (``None``: none on file; only ``reported`` is checked).
        facts: the visit's date, regions treated and what the client reports on the day.
        table: the contraindication table.
        intake_version: the version number of ``record`` (reported back).
        intake_signed: whether that version is signed (reported back).

    Returns:
        Every result, absolute first; local results carry the regions not to work on and
        the visit's lines that treated them.
    """
    rec = record or IntakeRecord()
    treated = facts.regions_treated

    def conflicts_of(regions: Iterable[str]) -> tuple[tuple[int, str], ...]:
        wanted = set(regions)
        return tuple((i, r) for i, line in enumerate(treated) for r in line if r in wanted)

    results: list[CheckResult] = []
    seen: set[tuple[str, str]] = set()
    for rule in table.rules:
        for part in rule.applies_to:
            for text, loc, regions, when in _texts(rec, facts, part):
                if rule.within_days is not None:
                    if when is None or not (
                        facts.date_of_service - timedelta(days=rule.within_days)
                        <= when
                        <= facts.date_of_service
                    ):
                        continue
                hit = rule.matches(text)
                if hit is None or (rule.id, loc) in seen:
                    continue
                seen.add((rule.id, loc))
                where = (regions or rule.default_regions) if rule.kind is Kind.LOCAL else ()
                results.append(
                    CheckResult(
                        rule_id=rule.id,
                        label=rule.label,
                        kind=rule.kind,
                        matched=text,
                        loc=loc,
                        regions=tuple(where),
                        conflicts=conflicts_of(where),
                        guidance=rule.guidance,
                        source=rule.source,
                        review=rule.review,
                    )
                )
    for i, area in enumerate(rec.areas_to_avoid):
        results.append(
            CheckResult(
                rule_id="area-to-avoid",
                label="Area the client asked to avoid",
                kind=Kind.LOCAL,
                matched=area.region + (f": {area.reason}" if area.reason else ""),
                loc=f"areas_to_avoid[{i}]",
                regions=(area.region,),
                conflicts=conflicts_of((area.region,)),
                guidance="Do not work on this region unless the client changes the request.",
                source="client intake",
            )
        )
    results.sort(key=lambda r: _ORDER[r.kind])
    return ContraindicationCheck(
        intake_version=intake_version if record is not None else None,
        intake_signed=intake_signed and record is not None,
        results=tuple(results),
        table=str(table),
    )


# ---------------------------------------------------------------------- clearance, billing


@dataclass(frozen=True, slots=True)
class Clearance:
    """The therapist's record that an absolute contraindication was cleared for a visit.

    Attributes:
        visit_id: the visit.
        rule_id: the contraindication cleared (a table entry id).
        cleared_by: the therapist who recorded it.
        cleared_at: when.
        document: what clears it (for example "physician's note, Dr. Patel, 2026-11-18").
        note: anything else.
    """

    visit_id: str
    rule_id: str
    cleared_by: str
    cleared_at: datetime
    document: str
    note: str | None = None


def uncleared(check: ContraindicationCheck, clearances: Iterable[Clearance]) -> tuple[CheckResult, ...]:
    """The absolute results of ``check`` that no clearance covers."""
    cleared = {c.rule_id for c in clearances}
    return tuple(r for r in check.absolute if r.rule_id not in cleared)


def billing_problems(
    check: ContraindicationCheck, clearances: Iterable[Clearance], facts: VisitFacts
) -> tuple[Problem, ...]:
    """Why a visit cannot be marked billable or get a claim (empty: it can).

    A visit that was not treated has nothing to bill and is never blocked here; a treated
    visit is blocked while an absolute contraindication has no clearance.
    """
    if not facts.treated:
        return ()
    return tuple(
        Problem(
            "intake-contraindication-uncleared",
            r.loc,
            f"{r.label} ({r.matched}) is an absolute contraindication; record a clearance "
            "(for example a physician's note) before billing this visit",
        )
        for r in uncleared(check, clearances)
    )


# ------------------------------------------------------------------- the document (dicts)

_TOP_KEYS = frozenset(
    {
        "reason_for_care",
        "onset",
        "current_conditions",
        "past_events",
        "medications",
        "allergies",
        "pregnancy",
        "devices",
        "areas_to_avoid",
        "pressure_preference",
        "emergency_contact",
        "physician",
        "consents",
        "notes",
    }
)


class _Reader:
    """Collects every problem of a document instead of stopping at the first."""

    def __init__(self, regions: frozenset[str] | None) -> None:
        self.problems: list[Problem] = []
        self.regions = regions

    def bad(self, code: str, loc: str, message: str) -> None:
        self.problems.append(Problem(code, loc, message))

    def obj(self, value: Any, loc: str, keys: Iterable[str]) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.bad("intake-type", loc, "must be an object")
            return {}
        for k in sorted(set(value) - set(keys)):
            self.bad("intake-field-unknown", f"{loc}.{k}" if loc else k, "is not a field of the intake")
        return value

    def items(self, value: Any, loc: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad("intake-type", loc, "must be a list")
            return []
        return value

    def text(self, value: Any, loc: str, *, required: bool = False, max_len: int = 2000) -> str | None:
        if value is None or value == "":
            if required:
                self.bad("intake-missing", loc, "is required")
            return None
        if not isinstance(value, str):
            self.bad("intake-type", loc, "must be text")
            return None
        if len(value) > max_len:
            self.bad("intake-too-long", loc, f"is longer than {max_len} characters")
            return None
        return value.strip()

    def choice(self, value: Any, loc: str, options: Sequence[str], default: str | None) -> str | None:
        if value is None or value == "":
            return default
        if value not in options:
            self.bad("intake-choice", loc, f"must be one of {', '.join(options)}")
            return default
        return str(value)

    def day(self, value: Any, loc: str) -> date | None:
        if value is None or value == "":
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.bad("intake-date", loc, "must be a date YYYY-MM-DD")
            return None

    def flag(self, value: Any, loc: str) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            self.bad("intake-type", loc, "must be true or false")
            return False
        return value

    def region_list(self, value: Any, loc: str) -> tuple[str, ...]:
        out = []
        for i, r in enumerate(self.items(value, loc)):
            name = self.text(r, f"{loc}[{i}]", required=True, max_len=40)
            if name is None:
                continue
            if self.regions is not None and name not in self.regions:
                self.bad("intake-region-unknown", f"{loc}[{i}]", f"{name!r} is not a body-region id")
                continue
            out.append(name)
        return tuple(out)

    def contact(self, value: Any, loc: str) -> Contact | None:
        d = self.obj(value, loc, ("name", "phone", "relationship", "npi"))
        if not d:
            return None
        name = self.text(d.get("name"), f"{loc}.name", required=True, max_len=200)
        npi = self.text(d.get("npi"), f"{loc}.npi", max_len=10)
        if npi is not None and not (npi.isdigit() and len(npi) == 10):
            self.bad("intake-npi", f"{loc}.npi", "must be 10 digits")
        return Contact(
            name=name or "",
            phone=self.text(d.get("phone"), f"{loc}.phone", max_len=30),
            relationship=self.text(d.get("relationship"), f"{loc}.relationship", max_len=60),
            npi=npi,
        )

    def consent(self, value: Any, loc: str) -> ConsentGiven:
        d = self.obj(value, loc, ("given", "date", "method"))
        given = self.flag(d.get("given"), f"{loc}.given")
        when = self.day(d.get("date"), f"{loc}.date")
        method = self.choice(d.get("method"), f"{loc}.method", CONSENT_METHODS, None)
        if given and when is None:
            self.bad("intake-consent-date-missing", f"{loc}.date", "a consent needs the date it was given")
        if given and method is None:
            self.bad("intake-consent-method-missing", f"{loc}.method", "a consent needs how it was given")
        return ConsentGiven(given, when, method)


def intake_from_dict(data: Any, *, regions: Iterable[str] | None = None) -> IntakeRecord:
    """Build an intake record from its JSON shape, reporting every problem at once.

    Args:
        data: the document (a ``dict``).
        regions: the body-region vocabulary; region ids outside it are refused (``None``:
            not checked).

    Raises:
        IntakeError: with one problem per bad field (``loc`` names it).
    """
    rd = _Reader(frozenset(regions) if regions is not None else None)
    if not isinstance(data, Mapping):
        raise IntakeError(
            "the intake must be a JSON object", (Problem("intake-type", "", "must be an object"),)
        )
    top = rd.obj(data, "", _TOP_KEYS)
    o = rd.obj(
        top.get("onset"),
        "onset",
        ("date", "mechanism", "description", "accident_state", "accident_date", "claim_number"),
    )
    state = rd.text(o.get("accident_state"), "onset.accident_state", max_len=2)
    if state is not None and not (len(state) == 2 and state.isalpha()):
        rd.bad("intake-state", "onset.accident_state", "must be a two-letter state code")
    onset = Onset(
        date=rd.day(o.get("date"), "onset.date"),
        mechanism=rd.choice(o.get("mechanism"), "onset.mechanism", MECHANISMS, "unknown") or "unknown",
        description=rd.text(o.get("description"), "onset.description"),
        accident_state=state.upper() if state else None,
        accident_date=rd.day(o.get("accident_date"), "onset.accident_date"),
        claim_number=rd.text(o.get("claim_number"), "onset.claim_number", max_len=50),
    )
    if onset.mechanism == "auto_accident" and onset.accident_state is None:
        rd.bad("intake-accident-state-missing", "onset.accident_state", "an auto accident needs its state")
    conditions = []
    for i, c in enumerate(rd.items(top.get("current_conditions"), "current_conditions")):
        loc = f"current_conditions[{i}]"
        if isinstance(c, str):
            c = {"name": c}
        d = rd.obj(c, loc, ("name", "regions", "since", "notes"))
        conditions.append(
            Condition(
                name=rd.text(d.get("name"), f"{loc}.name", required=True, max_len=200) or "",
                regions=rd.region_list(d.get("regions"), f"{loc}.regions"),
                since=rd.day(d.get("since"), f"{loc}.since"),
                notes=rd.text(d.get("notes"), f"{loc}.notes"),
            )
        )
    events = []
    for i, e in enumerate(rd.items(top.get("past_events"), "past_events")):
        loc = f"past_events[{i}]"
        d = rd.obj(e, loc, ("kind", "description", "date", "regions"))
        events.append(
            PastEvent(
                kind=rd.choice(d.get("kind"), f"{loc}.kind", EVENT_KINDS, "injury") or "injury",
                description=rd.text(d.get("description"), f"{loc}.description", required=True, max_len=300)
                or "",
                date=rd.day(d.get("date"), f"{loc}.date"),
                regions=rd.region_list(d.get("regions"), f"{loc}.regions"),
            )
        )
    meds = []
    for i, m in enumerate(rd.items(top.get("medications"), "medications")):
        loc = f"medications[{i}]"
        if isinstance(m, str):
            m = {"name": m}
        d = rd.obj(m, loc, ("name", "purpose"))
        meds.append(
            Medication(
                name=rd.text(d.get("name"), f"{loc}.name", required=True, max_len=200) or "",
                purpose=rd.text(d.get("purpose"), f"{loc}.purpose", max_len=200),
            )
        )
    allergies = []
    for i, a in enumerate(rd.items(top.get("allergies"), "allergies")):
        loc = f"allergies[{i}]"
        if isinstance(a, str):
            a = {"substance": a}
        d = rd.obj(a, loc, ("substance", "kind", "reaction"))
        allergies.append(
            Allergy(
                substance=rd.text(d.get("substance"), f"{loc}.substance", required=True, max_len=200) or "",
                kind=rd.choice(d.get("kind"), f"{loc}.kind", ALLERGY_KINDS, "other") or "other",
                reaction=rd.text(d.get("reaction"), f"{loc}.reaction", max_len=200),
            )
        )
    p = rd.obj(top.get("pregnancy"), "pregnancy", ("pregnant", "weeks", "due_date", "high_risk"))
    weeks = p.get("weeks")
    if weeks is not None and (isinstance(weeks, bool) or not isinstance(weeks, int) or not 0 <= weeks <= 45):
        rd.bad("intake-weeks", "pregnancy.weeks", "must be a whole number of weeks, 0 to 45")
        weeks = None
    pregnancy = Pregnancy(
        pregnant=rd.flag(p.get("pregnant"), "pregnancy.pregnant"),
        weeks=weeks,
        due_date=rd.day(p.get("due_date"), "pregnancy.due_date"),
        high_risk=rd.flag(p.get("high_risk"), "pregnancy.high_risk"),
    )
    devices = []
    for i, dv in enumerate(rd.items(top.get("devices"), "devices")):
        loc = f"devices[{i}]"
        if isinstance(dv, str):
            dv = {"name": dv}
        d = rd.obj(dv, loc, ("name", "regions"))
        devices.append(
            Device(
                name=rd.text(d.get("name"), f"{loc}.name", required=True, max_len=200) or "",
                regions=rd.region_list(d.get("regions"), f"{loc}.regions"),
            )
        )
    avoid = []
    for i, av in enumerate(rd.items(top.get("areas_to_avoid"), "areas_to_avoid")):
        loc = f"areas_to_avoid[{i}]"
        if isinstance(av, str):
            av = {"region": av}
        d = rd.obj(av, loc, ("region", "reason"))
        reg = rd.region_list([d.get("region")], f"{loc}.region")
        if reg:
            avoid.append(AvoidArea(reg[0], rd.text(d.get("reason"), f"{loc}.reason", max_len=300)))
    cs = rd.obj(
        top.get("consents"), "consents", ("treatment", "release_of_information", "assignment_of_benefits")
    )
    consents = Consents(
        treatment=rd.consent(cs.get("treatment"), "consents.treatment"),
        release_of_information=rd.consent(
            cs.get("release_of_information"), "consents.release_of_information"
        ),
        assignment_of_benefits=rd.consent(
            cs.get("assignment_of_benefits"), "consents.assignment_of_benefits"
        ),
    )
    record = IntakeRecord(
        reason_for_care=rd.text(top.get("reason_for_care"), "reason_for_care"),
        onset=onset,
        current_conditions=tuple(conditions),
        past_events=tuple(events),
        medications=tuple(meds),
        allergies=tuple(allergies),
        pregnancy=pregnancy,
        devices=tuple(devices),
        areas_to_avoid=tuple(avoid),
        pressure_preference=rd.choice(top.get("pressure_preference"), "pressure_preference", PRESSURES, None),
        emergency_contact=rd.contact(top.get("emergency_contact"), "emergency_contact"),
        physician=rd.contact(top.get("physician"), "physician"),
        consents=consents,
        notes=rd.text(top.get("notes"), "notes", max_len=4000),
    )
    if rd.problems:
        raise IntakeError("the intake document has problems", tuple(rd.problems))
    return record


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _contact_dict(c: Contact | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"name": c.name, "phone": c.phone, "relationship": c.relationship, "npi": c.npi}


def _consent_dict(c: ConsentGiven) -> dict[str, Any]:
    return {"given": c.given, "date": _iso(c.date), "method": c.method}


def intake_to_dict(record: IntakeRecord) -> dict[str, Any]:
    """The JSON shape of an intake record (``intake_from_dict`` reads it back unchanged)."""
    o = record.onset
    return {
        "reason_for_care": record.reason_for_care,
        "onset": {
            "date": _iso(o.date),
            "mechanism": o.mechanism,
            "description": o.description,
            "accident_state": o.accident_state,
            "accident_date": _iso(o.accident_date),
            "claim_number": o.claim_number,
        },
        "current_conditions": [
            {"name": c.name, "regions": list(c.regions), "since": _iso(c.since), "notes": c.notes}
            for c in record.current_conditions
        ],
        "past_events": [
            {"kind": e.kind, "description": e.description, "date": _iso(e.date), "regions": list(e.regions)}
            for e in record.past_events
        ],
        "medications": [{"name": m.name, "purpose": m.purpose} for m in record.medications],
        "allergies": [
            {"substance": a.substance, "kind": a.kind, "reaction": a.reaction} for a in record.allergies
        ],
        "pregnancy": {
            "pregnant": record.pregnancy.pregnant,
            "weeks": record.pregnancy.weeks,
            "due_date": _iso(record.pregnancy.due_date),
            "high_risk": record.pregnancy.high_risk,
        },
        "devices": [{"name": d.name, "regions": list(d.regions)} for d in record.devices],
        "areas_to_avoid": [{"region": a.region, "reason": a.reason} for a in record.areas_to_avoid],
        "pressure_preference": record.pressure_preference,
        "emergency_contact": _contact_dict(record.emergency_contact),
        "physician": _contact_dict(record.physician),
        "consents": {
            "treatment": _consent_dict(record.consents.treatment),
            "release_of_information": _consent_dict(record.consents.release_of_information),
            "assignment_of_benefits": _consent_dict(record.consents.assignment_of_benefits),
        },
        "notes": record.notes,
    }
