"""What a scrub knows beyond the document: reference stores, practice records, hooks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from therabill.domain.encounter import Encounter, PriorClaimLine
from therabill.domain.intake import ContraindicationCheck
from therabill.domain.timing import UnitsResult
from therabill.refdata.catalog import CodeCatalog
from therabill.refdata.fees import FeeSchedule
from therabill.refdata.ncci import NcciStore
from therabill.refdata.profiles import PayerProfile
from therabill.scrubber.finding import Finding, Severity

__all__ = ["AssignmentOnFile", "Enrollment", "IntakeOnFile", "License", "RuleContext", "ScrubContext"]


@dataclass(frozen=True, slots=True)
class Enrollment:
    """A provider's enrollment with a payer, from the practice's records.

    Attributes:
        npi: the provider's NPI.
        payer_id: the payer's electronic id (as in ``coverage.payer_id``).
        enrolled: whether the provider is enrolled (credentialed) with the payer.
        effective_from: first date the enrollment applies, if known.
        effective_to: last date it applies, if known.
    """

    npi: str
    payer_id: str
    enrolled: bool = True
    effective_from: date | None = None
    effective_to: date | None = None

    def covers(self, day: date) -> bool:
        """True when the record is in force on ``day``."""
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )


@dataclass(frozen=True, slots=True)
class License:
    """A provider's state license, from the practice's records.

    Attributes:
        npi: the provider's NPI.
        state: the state that issued it.
        expires: the last day it is valid.
    """

    npi: str
    state: str
    expires: date


@dataclass(frozen=True, slots=True)
class AssignmentOnFile:
    """What the practice's records say about assignment and signatures.

    Attributes:
        accepts_assignment: the practice accepts assignment (CLM07 ``A``, box 27 yes).
        signature_on_file: the rendering provider's signature is on file (CLM06, box 31).
        benefits_assigned: the patient signed the assignment of benefits in the intake
            consent (CLM08, box 13); ``None`` when the patient has no intake on file.
    """

    accepts_assignment: bool
    signature_on_file: bool
    benefits_assigned: bool | None = None


@dataclass(frozen=True, slots=True)
class IntakeOnFile:
    """What the records say about the client's intake (health history) for this visit.

    Attributes:
        check: the visit checked against the current intake and the contraindication table
            (``check.intake_version`` is ``None`` when no intake is on file).
        cleared: the absolute contraindications (table entry ids) cleared for the visit.
        treated: whether treatment was given (a visit "not treated, rescheduled" is never
            blocked by a contraindication).
        expected: whether a missing intake is reported (``intake-missing``): the visit form
            says so; a claim does not, so a practice that keeps no intake is not warned on
            every claim.
    """

    check: ContraindicationCheck
    cleared: frozenset[str] = frozenset()
    treated: bool = True
    expected: bool = True


@dataclass(frozen=True, slots=True)
class ScrubContext:
    """What a caller may know beyond the encounter document (every field optional).

    Attributes:
        ncci: the NCCI PTP/MUE store; ``None`` = the imported tables if present, else the
            shipped starter table.
        fees: a fee schedule for estimates (KX threshold); ``None`` = the imported one, if any.
        enrollments: provider enrollments; ``None`` = not known (the rule stays quiet).
        licenses: provider licenses; ``None`` = not known.
        profile_dirs: extra folders holding a practice's own payer profiles.
        assignment: the practice's assignment and signature records; ``None`` = not known.
        intake: the client's intake checked for this visit; ``None`` = not known (the intake
            rules stay quiet).
    """

    ncci: NcciStore | None = None
    fees: FeeSchedule | None = None
    enrollments: tuple[Enrollment, ...] | None = None
    licenses: tuple[License, ...] | None = None
    profile_dirs: tuple[str, ...] = ()
    assignment: AssignmentOnFile | None = None
    intake: IntakeOnFile | None = None


class RuleContext:
    """What a rule sees besides the encounter: the date, the profile, units and stores.

    The engine makes one per scrub and sets ``rule_id``, ``severity`` and ``source`` before
    each rule runs, so that ``finding()`` fills them in.
    """

    __slots__ = (
        "_same_day",
        "as_of",
        "assignment",
        "catalog",
        "dos",
        "enrollments",
        "fees",
        "intake",
        "licenses",
        "memo",
        "ncci",
        "profile",
        "profile_error",
        "rule_id",
        "severity",
        "source",
        "units",
    )

    def __init__(
        self,
        encounter: Encounter,
        as_of: date,
        profile: PayerProfile | None,
        profile_error: str | None,
        units: UnitsResult,
        catalog: CodeCatalog,
        ncci: NcciStore,
        fees: FeeSchedule | None,
        enrollments: tuple[Enrollment, ...] | None,
        licenses: tuple[License, ...] | None,
        assignment: AssignmentOnFile | None = None,
        intake: IntakeOnFile | None = None,
    ) -> None:
        """Build the context of one scrub."""
        self.as_of = as_of
        self.dos = encounter.date_of_service
        self.profile = profile
        self.profile_error = profile_error
        self.units = units
        self.catalog = catalog
        self.ncci = ncci
        self.fees = fees
        self.enrollments = enrollments
        self.licenses = licenses
        self.assignment = assignment
        self.intake = intake
        self.memo: dict[str, Any] = {}
        self.rule_id = ""
        self.severity = Severity.ERROR
        self.source = ""
        self._same_day: tuple[PriorClaimLine, ...] | None = None
        if encounter.prior_claims:
            self._same_day = tuple(p for p in encounter.prior_claims if p.date_of_service == self.dos)

    @property
    def same_day_prior(self) -> tuple[PriorClaimLine, ...]:
        """Earlier claim lines of this patient on the same date of service."""
        return self._same_day or ()

    def setting(self, name: str, default: Any = None) -> Any:
        """A payer-profile setting (``default`` without a profile or setting)."""
        return default if self.profile is None else self.profile.value(name, default)

    def setting_params(self, name: str) -> Mapping[str, Any]:
        """The extra keys of a profile setting (``unit``, ``from``, ...)."""
        s = None if self.profile is None else self.profile.setting(name)
        return {} if s is None else s.params

    def source_of(self, name: str) -> str:
        """Where a profile setting comes from, for a finding's source."""
        return "no payer profile (defaults)" if self.profile is None else self.profile.source_of(name)

    def billed_units(self, index: int) -> int:
        """The units line ``index`` will carry: the biller's, else the computed ones."""
        ln = self.units.lines[index]
        return ln.units if ln.billed_units is None else ln.billed_units

    def finding(
        self,
        loc: str,
        message: str,
        fix: str,
        *,
        severity: Severity | None = None,
        source: str | None = None,
    ) -> Finding:
        """A finding of the running rule (its id, severity and source unless given)."""
        sev = self.severity
        if severity is not None and _RANK[severity] > _RANK[sev]:
            sev = severity  # a rule may report a milder case, never a harsher one
        src = self.source if source is None else (f"{self.source}; {source}" if self.source else source)
        return Finding(self.rule_id, sev, message, fix, loc, src)


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
