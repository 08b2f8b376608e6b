"""Findings: what a scrubber rule reports about an encounter."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["SEVERITY_ORDER", "Finding", "Severity"]


class Severity(StrEnum):
    """How serious a finding is: an ``error`` blocks the claim."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or note) found on an encounter.

    Attributes:
        rule_id: the stable id of the rule that found it (``ncci-ptp-modifier-missing``).
        severity: ``error`` blocks the claim; ``warning`` and ``info`` do not.
        message: what is wrong, in words a biller understands.
        fix: how to fix it.
        loc: where, as a path into the encounter (``services[1].modifiers``, 0-based).
        source: the rule's reference: a manual section, a data file and its version.
    """

    rule_id: str
    severity: Severity
    message: str
    fix: str
    loc: str
    source: str

    def as_dict(self) -> dict[str, str]:
        """The JSON shape of the finding."""
        return {
            "rule_id": self.rule_id,
            "severity": str(self.severity),
            "message": self.message,
            "fix": self.fix,
            "loc": self.loc,
            "source": self.source,
        }
