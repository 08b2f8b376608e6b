"""The rule registry: every scrubber rule with its stable id, severity, family and source.

A rule is a small pure function ``(encounter, ctx) -> Iterable[Finding]`` registered with
``@rule(...)``. Payer profiles switch rules on and off and set their parameters:

* ``enabled_by``: a profile setting that must be true (or non-empty) for the rule to run;
* ``severity_by``: a profile setting whose value is the rule's severity, or ``off``;
* the profile settings ``rules_off`` (list of ids) and ``severity_overrides``
  (``{rule-id = "warning"}``) apply to every rule.

``needs`` names a fact of the encounter (a tag of ``therabill.scrubber.gates``) without
which the rule cannot report anything; the fast path skips the rule when the fact is absent.
A rule without ``needs`` always runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from therabill.domain.encounter import Encounter
from therabill.scrubber.finding import Finding, Severity

if TYPE_CHECKING:
    from therabill.scrubber.context import RuleContext

__all__ = ["Rule", "RuleFn", "all_rules", "get_rule", "rule"]

RuleFn = Callable[[Encounter, "RuleContext"], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A registered rule.

    Attributes:
        id: stable kebab-case id.
        severity: default severity.
        family: coding, units, diagnoses, ncci, coverage, documentation, identity, payer, intake.
        title: one line saying what it catches.
        source: its reference (manual section, data file).
        fn: the rule function.
        enabled_by: profile setting that must be truthy for the rule to run.
        enabled_default: whether it runs when the profile lacks that setting.
        severity_by: profile setting holding the severity (or ``off``).
        needs: the encounter fact (``therabill.scrubber.gates`` tag) the rule needs to report
            anything, or ``None`` when it always runs.
    """

    id: str
    severity: Severity
    family: str
    title: str
    source: str
    fn: RuleFn
    enabled_by: str | None = None
    enabled_default: bool = False
    severity_by: str | None = None
    needs: str | None = None


_RULES: dict[str, Rule] = {}


def rule(
    rule_id: str,
    severity: Severity,
    *,
    family: str,
    title: str,
    source: str,
    enabled_by: str | None = None,
    enabled_default: bool = False,
    severity_by: str | None = None,
    needs: str | None = None,
) -> Callable[[RuleFn], RuleFn]:
    """Register a rule function under ``rule_id``."""

    def register(fn: RuleFn) -> RuleFn:
        if rule_id in _RULES:
            raise ValueError(f"rule {rule_id} is registered twice")
        _RULES[rule_id] = Rule(
            rule_id, severity, family, title, source, fn, enabled_by, enabled_default, severity_by, needs
        )
        return fn

    return register


def all_rules() -> tuple[Rule, ...]:
    """Every registered rule, in registration order (the ``therabill.scrubber`` package imports
    the rule modules, which register themselves, before anything can ask)."""
    return tuple(_RULES.values())


def get_rule(rule_id: str) -> Rule:
    """The rule ``rule_id`` (``KeyError`` if unknown)."""
    all_rules()
    return _RULES[rule_id]
