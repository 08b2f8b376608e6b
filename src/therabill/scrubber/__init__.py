"""The claim scrubber: every common billing mistake caught, explained and fixable.

``scrub(encounter, as_of, context)`` runs the registered rules (``therabill.scrubber.rules``)
that the encounter's payer profile switches on and returns a ``ScrubResult``.
"""

import therabill.scrubber.rules  # noqa: F401  (the rule modules register themselves on import)
from therabill.scrubber.context import (
    AssignmentOnFile,
    Enrollment,
    IntakeOnFile,
    License,
    RuleContext,
    ScrubContext,
)
from therabill.scrubber.engine import ScrubResult, scrub
from therabill.scrubber.finding import Finding, Severity
from therabill.scrubber.registry import Rule, all_rules, get_rule

__all__ = [
    "AssignmentOnFile",
    "Enrollment",
    "Finding",
    "IntakeOnFile",
    "License",
    "Rule",
    "RuleContext",
    "ScrubContext",
    "ScrubResult",
    "Severity",
    "all_rules",
    "get_rule",
    "scrub",
]
