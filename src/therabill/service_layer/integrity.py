"""Integrity of the audit log beyond the database: chains verified and anchored outside it.

``check_audit`` verifies every practice's chain, compares the heads with the signed anchor
file of the data folder (see ``therabill.adapters.db.anchor``) and, when all is well, moves
the anchor to the current heads. ``anchor_heads`` records heads after a backup (never moving
an anchor backwards) or a restore (replacing it with the restored heads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from therabill.adapters.db import anchor
from therabill.adapters.db.tables import practices
from therabill.service_layer.audit import chain_heads, compare_with_anchor, verify_chain


@dataclass
class AuditCheck:
    """The result of ``check_audit``.

    Attributes:
        practices: practices checked.
        rows: audit rows verified.
        broken: practice id -> why its chain does not verify.
        anchor: ``missing`` (first run: written now), ``ok``, ``invalid`` (file altered) or
            ``rewritten`` (``reanchor``).
        anchor_findings: practice id -> ``rows-removed`` or ``rewritten``.
    """

    practices: int = 0
    rows: int = 0
    broken: dict[str, str] = field(default_factory=dict)
    anchor: str = "ok"
    anchor_findings: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every chain verifies and reaches its anchored head (or was re-anchored)."""
        if self.broken:
            return False
        return self.anchor == "rewritten" or (not self.anchor_findings and self.anchor != "invalid")


def check_audit(engine: Engine, folder: Path, *, reanchor: bool = False) -> AuditCheck:
    """Verify every chain and compare with the anchor in ``folder``; advance the anchor when all is well.

    With ``reanchor`` (after a deliberate restore of an older copy) the anchor is rewritten to
    the current heads when every chain verifies, and the differences found are still reported
    (``ok`` is then True when the chains verify).
    """
    out = AuditCheck()
    with Session(engine) as session:
        ids = list(session.execute(select(practices.c.id).order_by(practices.c.id)).scalars())
        out.practices = len(ids)
        for pid in ids:
            report = verify_chain(session, pid)
            out.rows += report.rows
            if not report.ok:
                out.broken[pid] = f"row {report.first_bad_seq}: {report.reason}"
        try:
            anchored = anchor.read(folder)
        except anchor.AnchorError:
            out.anchor = "invalid"
            anchored = None
        if anchored is None and out.anchor != "invalid":
            out.anchor = "missing"
        if anchored is not None:
            for finding in compare_with_anchor(session, anchored):
                out.anchor_findings[finding.practice_id] = (
                    f"{finding.reason}: anchored at row {finding.anchored_seq}, found {finding.found_seq}"
                )
        heads = chain_heads(session)
    if reanchor and not out.broken:
        anchor.write(folder, heads)
        out.anchor = "rewritten"
        return out
    if out.ok:
        anchor.write(folder, heads)
    return out


def anchor_heads(folder: Path, heads: dict[str, tuple[int, str]], *, replace: bool = False) -> None:
    """Record chain heads in the anchor: after a restore (``replace``), or after a backup.

    After a backup an anchored head is only moved forward (a later ``db check`` may already
    have anchored a longer chain); an unreadable or altered anchor is left for ``db check``
    to report.
    """
    merged = dict(heads)
    if not replace:
        try:
            current = anchor.read(folder) or {}
        except anchor.AnchorError:
            return
        for pid, head in current.items():
            if head[0] > merged.get(pid, (0, ""))[0]:
                merged[pid] = head
    anchor.write(folder, merged)
