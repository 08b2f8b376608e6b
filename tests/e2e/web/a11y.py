"""Accessibility and phone-fit checks any browser test can call on the page it is showing.

``assert_accessible(page)`` runs axe-core (the copy bundled with the pinned
``axe-playwright-python`` package, so it works offline) with the WCAG 2.0/2.1/2.2 A and AA
rules, and fails on every violation whose impact is *serious* or *critical* (``FAILING``).
It also checks what axe cannot see the same way on every page:

- no horizontal scrolling (the document is not wider than the window), and
- tap targets (WCAG 2.2 2.5.8): every visible control is at least 24 × 24 CSS px, except a
  link inside running text (the "inline" exception), whose size the line of text sets.

Moderate and minor findings are returned by ``axe_violations(page, impacts=ALL)`` for a
report but do not fail a page.
"""

from __future__ import annotations

import re
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

FAILING = ("serious", "critical")
"""axe impacts that fail a page."""
ALL = ("minor", "moderate", "serious", "critical")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
"""The axe rule tags run: WCAG 2.2 level A and AA (the rules of 2.0 and 2.1 included)."""
MIN_TARGET = 24
"""The smallest tap target, CSS px (WCAG 2.2 2.5.8 Target Size (Minimum), level AA)."""

_AXE = Axe()

_SMALL_TARGETS = """(min) => {
  const controls = document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex="0"]');
  const out = [];
  for (const e of controls) {
    const r = e.getBoundingClientRect();
    const style = getComputedStyle(e);
    if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;
    if (e.closest('[hidden], [aria-hidden=true]')) continue;
    if (e.tagName === 'A') {
      // the inline exception: a link inside a sentence is as tall as its line of text
      const block = e.parentElement;
      const own = (e.textContent || '').trim().length;
      const around = block ? (block.textContent || '').trim().length : own;
      if (style.display === 'inline' && around > own + 3 && !block.matches('td, th, nav, li:only-child'))
        continue;
    }
    if (r.width + 0.5 < min || r.height + 0.5 < min)
      out.push(`${e.outerHTML.slice(0, 90)} is ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  return out;
}"""


def axe_violations(page: Page, impacts: tuple[str, ...] = FAILING) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now, of the given impacts."""
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    response = _AXE.run(page, options=options).response
    return [v for v in response["violations"] if v.get("impact") in impacts]


def describe(violations: list[dict[str, Any]]) -> list[str]:
    """One line per violation: rule, impact, what to do, and the first elements it found."""
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:4])
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} [{len(v['nodes'])}x: {targets}]")
    return lines


def horizontal_overflow(page: Page) -> int:
    """How many CSS px the document is wider than the window (0: no horizontal scrolling)."""
    overflow: int = page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )
    return max(0, overflow)


def small_tap_targets(page: Page, minimum: int = MIN_TARGET) -> list[str]:
    """Visible controls smaller than ``minimum`` px in width or height (inline links excepted)."""
    found: list[str] = page.evaluate(_SMALL_TARGETS, minimum)
    return found


_INTERNAL_ID = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32}(?![0-9A-Za-z])")


def visible_ids(page: Page) -> list[str]:
    """Internal ids (32 hex digits) shown as visible text: people should see names, not ids
    (ids may stay in links, forms and hover titles)."""
    text: str = page.evaluate("() => document.body.innerText")
    return sorted(set(_INTERNAL_ID.findall(text)))


def problems(page: Page, *, impacts: tuple[str, ...] = FAILING) -> list[str]:
    """Everything ``assert_accessible`` would fail on, as readable lines (empty: none)."""
    out = describe(axe_violations(page, impacts))
    wider = horizontal_overflow(page)
    if wider:
        out.append(f"horizontal scrolling: the page is {wider} px wider than the window")
    out += [f"tap target under {MIN_TARGET} px: {t}" for t in small_tap_targets(page)]
    return out


def assert_accessible(page: Page, *, impacts: tuple[str, ...] = FAILING) -> None:
    """Fail when the page has axe violations of ``impacts``, scrolls sideways or has small targets."""
    found = problems(page, impacts=impacts)
    assert not found, f"{page.url}:\n  " + "\n  ".join(found)
