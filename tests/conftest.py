"""Shared test helpers.

``require(component, available)``: a test that needs a system component (chromium,
pdftoppm, PostgreSQL, sshd...) skips with a loud reason on a developer's machine and fails
when ``CI`` is set, so CI never passes by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXAMPLES = REPO / "examples"

settings.register_profile(
    "therabill",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "therabill"))


def in_ci() -> bool:
    """True when running under CI (``CI`` set to anything but empty/false/0)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def require(component: str, available: bool, how: str = "") -> None:
    """Skip (developer machine) or fail (CI) when a needed system component is missing."""
    if available:
        return
    reason = f"MISSING SYSTEM COMPONENT: {component}" + (f" ({how})" if how else "")
    if in_ci():
        pytest.fail(reason + " — required under CI", pytrace=False)
    pytest.skip(reason)


def shared_path(*parts: str) -> Path:
    """A path under ../shared (reference material beside the checkout); required in CI."""
    path = SHARED.joinpath(*parts)
    require(f"../shared/{'/'.join(parts)}", path.exists(), "the shared folder beside the checkout")
    return path
