"""The state of the reference data on a day: what is loaded, from where, and what is missing.

``therabill doctor`` prints it; each item says once what the scrubber would otherwise repeat
on every claim (an ICD-10-CM release that does not cover the day, no MUE table in force).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from therabill.refdata.catalog import default_catalog
from therabill.refdata.fees import default_fees
from therabill.refdata.icd10 import list_releases, release_gap
from therabill.refdata.ncci import default_ncci
from therabill.refdata.pfs import default_pfs
from therabill.refdata.profiles import list_profiles
from therabill.refdata.providers import default_disciplines

__all__ = ["StatusItem", "refdata_status"]


@dataclass(frozen=True, slots=True)
class StatusItem:
    """One line of the reference-data status.

    Attributes:
        id: stable id (``icd10-release-missing``, ``ncci-ptp``, ...).
        ok: ``False`` when something is missing or only a starter stands in.
        message: what is loaded or missing.
        fix: what to do (empty when nothing).
    """

    id: str
    ok: bool
    message: str
    fix: str = ""


def refdata_status(day: date) -> list[StatusItem]:
    """The status of every reference data set for dates of service around ``day``."""
    out: list[StatusItem] = []
    releases = list_releases()
    gap = release_gap(day, releases)
    names = ", ".join(f"{r.name} ({r.effective_from} to {r.effective_to})" for r in releases)
    if gap is None:
        out.append(StatusItem("icd10-release", True, f"ICD-10-CM releases: {names}; {day} is covered."))
    else:
        fy = day.year + 1 if day.month >= 10 else day.year
        out.append(
            StatusItem(
                "icd10-release-missing",
                False,
                f"No ICD-10-CM release covers {day} (loaded: {names}); claims after {gap.effective_to} "
                f"are checked against {gap.name} and carry dx-release-not-covering.",
                f"Import the CMS FY{fy} ICD-10-CM files: therabill icd10 import "
                f"icd10cm-table-index-{fy}.zip icd10cm-code-descriptions-{fy}.zip",
            )
        )
    ncci = default_ncci()
    starter_ptp = "starter" in ncci.ptp_source
    out.append(
        StatusItem(
            "ncci-ptp",
            not starter_ptp,
            f"NCCI PTP: {ncci.ptp_source}.",
            "Import the CMS practitioner PTP files: therabill refdata import-ncci ccipra-*.zip"
            if starter_ptp
            else "",
        )
    )
    mue_gap = ncci.mue_gap(day)
    starter_mue = "starter" in ncci.mue_source
    out.append(
        StatusItem(
            "mue-table",
            mue_gap is None and not starter_mue,
            f"MUE: {ncci.mue_source}" + (f"; {mue_gap}." if mue_gap else "."),
            "Import the CMS practitioner MUE file of the quarter: therabill refdata import-mue <zip>"
            if mue_gap or starter_mue
            else "",
        )
    )
    pfs = default_pfs()
    if pfs is None:
        out.append(
            StatusItem(
                "pfs-rvu",
                False,
                "Physician Fee Schedule: no PPRRVU file imported; status indicators come from the code "
                "catalog ([M] values) and Medicare amounts from the fee schedule, if any.",
                "Import the CMS PFS relative value file: therabill refdata import-pfs PPRRVU<yy>_<quarter>.csv",
            )
        )
    else:
        out.append(StatusItem("pfs-rvu", True, f"Physician Fee Schedule: {pfs.source}."))
    fees = default_fees()
    out.append(
        StatusItem(
            "fee-schedule",
            fees is not None,
            f"Fee schedule: {fees.name}." if fees is not None else "Fee schedule: none imported.",
            "" if fees is not None else "Import the practice's fees: therabill refdata import-fees fees.csv",
        )
    )
    cat = default_catalog()
    out.append(StatusItem("code-catalog", True, f"Code catalog: {cat.source} ({len(cat.codes)} codes)."))
    disc = default_disciplines()
    out.append(StatusItem("provider-disciplines", True, f"Provider disciplines: {disc.source}."))
    out.append(StatusItem("payer-profiles", True, f"Payer profiles: {', '.join(list_profiles())}."))
    return out
