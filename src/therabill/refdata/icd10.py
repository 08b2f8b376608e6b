"""ICD-10-CM: validity and billability by the release in force on the date of service.

ICD-10-CM has a new release every October 1 and updates in April. Each release therabill
knows is listed with its effective dates: the shipped one (the April 1, 2026 update, as
packaged by ``simple-icd-10-cm``) and any a practice imports from the official CMS files
(``therabill icd10 import`` with the CMS zip files as distributed, e.g.
``icd10cm-table-index-2027.zip icd10cm-code-descriptions-2027.zip``; the release's name and
dates are read from the file names: fiscal year 2027 applies from 2026-10-01 to 2027-09-30, an
April update from April 1 to September 30, and a later release wins over an earlier one for
the dates both cover), without code changes.

``check(code, date_of_service)`` uses the release in force on that date and says which it
used; when no loaded release covers the date, it uses the nearest earlier one and says so
(``release_covers_date = False``), so a rule can warn.

``simple-icd-10-cm`` parses its XML at import (seconds) and holds one release at a time, so
each release is read once into a compact index cached under the user's cache folder; later
processes load only the index.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tomllib
import zipfile
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from therabill import config
from therabill.config import data_dir
from therabill.domain.errors import ReferenceDataError

__all__ = [
    "Icd10Check",
    "Icd10Release",
    "Icd10Service",
    "icd10",
    "import_release",
    "import_release_files",
    "normalize",
    "release_gap",
]

_INDEX_VERSION = 1


@dataclass(frozen=True, slots=True)
class Icd10Release:
    """An ICD-10-CM release.

    Attributes:
        name: short name (``2026-04``).
        label: a name for people.
        effective_from: first date of service it applies to.
        effective_to: last date of service it applies to.
        source: where its files come from.
        tabular: path of the official tabular XML, or ``None`` for the packaged one.
        codes: path of the official code list, or ``None`` for the packaged one.
    """

    name: str
    label: str
    effective_from: date
    effective_to: date
    source: str
    tabular: str | None = None
    codes: str | None = None

    def covers(self, day: date) -> bool:
        """True when ``day`` falls within the release's effective dates."""
        return self.effective_from <= day <= self.effective_to


@dataclass(frozen=True, slots=True)
class Icd10Check:
    """The result of checking one code.

    Attributes:
        code: the code as given.
        valid: it exists in the release (as a category, subcategory or code).
        billable: it is a leaf (a complete code that can be billed).
        release: the release used.
        release_covers_date: the release is in force on the date of service.
        description: the release's description of the code.
        needs_seventh_character: the code's category needs a 7th character it lacks.
    """

    code: str
    valid: bool
    billable: bool
    release: str
    release_covers_date: bool
    description: str | None
    needs_seventh_character: bool

    @property
    def is_external_cause(self) -> bool:
        """True for external-cause codes (V00-Y99), which may not be listed first."""
        return normalize(self.code)[:1] in ("V", "W", "X", "Y")


def normalize(code: str) -> str:
    """Upper case without the dot (``m54.50`` → ``M5450``)."""
    return code.strip().upper().replace(".", "")


# --- releases --------------------------------------------------------------------------------


def _parse_releases(data: dict[str, Any], where: str) -> list[Icd10Release]:
    out = []
    for row in data.get("release", ()):
        try:
            out.append(
                Icd10Release(
                    name=str(row["name"]),
                    label=str(row.get("label", row["name"])),
                    effective_from=date.fromisoformat(str(row["effective_from"])),
                    effective_to=date.fromisoformat(str(row["effective_to"])),
                    source=str(row.get("source", "")),
                    tabular=row.get("tabular"),
                    codes=row.get("codes"),
                )
            )
        except (KeyError, ValueError) as exc:
            raise ReferenceDataError(f"{where}: bad ICD-10-CM release entry: {exc}") from None
    return out


def _imported_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "icd10"


def list_releases(base: Path | None = None) -> list[Icd10Release]:
    """The shipped release and every imported one, oldest first.

    The files are parsed once: the shipped one for the process, the registry of imported
    releases again whenever its inode, size or modification time changes (the dashboard asks on
    every view)."""
    releases = list(_shipped_releases())
    registry = _imported_dir(base) / "releases.toml"
    try:
        found = registry.stat()
    except OSError:  # no release imported
        found = None
    if found is not None and stat.S_ISREG(found.st_mode):
        releases.extend(_registered_releases(str(registry), found.st_ino, found.st_mtime_ns, found.st_size))
    releases.sort(key=lambda r: r.effective_from)
    return releases


@cache
def _shipped_releases() -> tuple[Icd10Release, ...]:
    with resources.files("therabill.refdata").joinpath("data", "icd10_releases.toml").open("rb") as fh:
        return tuple(_parse_releases(tomllib.load(fh), "icd10_releases.toml"))


@lru_cache(maxsize=16)
def _registered_releases(path: str, _inode: int, _mtime_ns: int, _size: int) -> tuple[Icd10Release, ...]:
    """The releases of a registry file as it is with that inode, modification time and size."""
    with open(path, "rb") as fh:
        return tuple(_parse_releases(tomllib.load(fh), Path(path).name))


def import_release(
    tabular: Path,
    codes: Path,
    *,
    name: str,
    effective_from: date,
    effective_to: date,
    label: str | None = None,
    base: Path | None = None,
) -> Icd10Release:
    """Copy an official CMS release into the data folder and register it.

    The files are checked by building the index before anything is registered, so a bad
    file leaves the registry as it was.
    """
    if effective_to < effective_from:
        raise ReferenceDataError("the release's end date is before its start date")
    if not tabular.is_file() or not codes.is_file():
        raise ReferenceDataError("both the tabular XML and the code list file must exist")
    target = _imported_dir(base) / name
    target.mkdir(parents=True, exist_ok=True)
    tab_dst, codes_dst = target / tabular.name, target / codes.name
    shutil.copyfile(tabular, tab_dst)
    shutil.copyfile(codes, codes_dst)
    release = Icd10Release(
        name=name,
        label=label or f"ICD-10-CM {name}",
        effective_from=effective_from,
        effective_to=effective_to,
        source=f"imported from {tabular.name} and {codes.name}",
        tabular=str(tab_dst),
        codes=str(codes_dst),
    )
    _index_for(release)  # validates the files
    registry = _imported_dir(base) / "releases.toml"
    kept = []
    if registry.is_file():
        with open(registry, "rb") as fh:
            kept = [r for r in _parse_releases(tomllib.load(fh), "releases.toml") if r.name != name]
    kept.append(release)
    lines = []
    for r in kept:
        lines += [
            "[[release]]",
            f"name = {json.dumps(r.name)}",
            f"label = {json.dumps(r.label)}",
            f"effective_from = {json.dumps(r.effective_from.isoformat())}",
            f"effective_to = {json.dumps(r.effective_to.isoformat())}",
            f"source = {json.dumps(r.source)}",
            f"tabular = {json.dumps(r.tabular)}",
            f"codes = {json.dumps(r.codes)}",
            "",
        ]
    tmp = registry.with_suffix(".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, registry)
    icd10.cache_clear()
    return release


_TABULAR = re.compile(r"tabular.*\.xml$", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


def _is_code_list(name: str) -> bool:
    low = name.lower()
    return low.endswith(".txt") and "order" not in low and "addenda" not in low and "codes" in low


def _pick(paths: list[Path], work: Path) -> tuple[Path, Path, list[str]]:
    """The tabular XML and the code list among ``paths`` (files or CMS zips, extracted to ``work``)."""
    found: list[Path] = []
    names: list[str] = []
    for p in paths:
        if not p.is_file():
            raise ReferenceDataError(f"cannot read {p}: no such file")
        names.append(p.name)
        if zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as zf:
                for member in zf.namelist():
                    base = member.rsplit("/", 1)[-1]
                    if _TABULAR.search(base) or _is_code_list(base):
                        target = work / base
                        with zf.open(member) as src, open(target, "wb") as dst:
                            shutil.copyfileobj(src, dst)
                        found.append(target)
                        names.append(base)
        else:
            found.append(p)
    tabular = [f for f in found if _TABULAR.search(f.name)]
    codes = [f for f in found if f not in tabular and f.suffix.lower() == ".txt" and _is_code_list(f.name)]
    if len(tabular) != 1 or len(codes) != 1:
        raise ReferenceDataError(
            "an ICD-10-CM release needs exactly one tabular XML (icd10cm-tabular-YYYY.xml) and one code "
            f"list (icd10cm-codes-YYYY.txt) among the files given; found {len(tabular)} and {len(codes)} "
            f"in {', '.join(names)}"
        )
    return tabular[0], codes[0], names


def release_dates_from_names(names: list[str]) -> tuple[str, date, date] | None:
    """The release name and dates the CMS file names say (fiscal year, April update), if any."""
    years = [int(y) for n in names for y in _YEAR.findall(n)]
    if not years:
        return None
    fy = max(years)
    if any("april" in n.lower() for n in names):
        return f"{fy}-04", date(fy, 4, 1), date(fy, 9, 30)
    return f"{fy - 1}-10", date(fy - 1, 10, 1), date(fy, 9, 30)


def import_release_files(
    paths: list[Path],
    *,
    name: str | None = None,
    effective_from: date | None = None,
    effective_to: date | None = None,
    base: Path | None = None,
) -> Icd10Release:
    """Import a CMS ICD-10-CM release from its files as distributed (the zips, or the files).

    The tabular XML and the code list are found inside the zips; the fiscal year (and an
    April update) is read from the file names unless given.

    Raises:
        ReferenceDataError: the files lack the tabular XML or the code list, the dates cannot
            be told from the names and are not given, or a file is not a valid release.
    """
    work = _imported_dir(base) / ".unpack"
    work.mkdir(parents=True, exist_ok=True)
    try:
        tabular, codes, names = _pick(paths, work)
        told = release_dates_from_names(names)
        if told is not None:
            name = name or told[0]
            effective_from = effective_from or told[1]
            effective_to = effective_to or told[2]
        if name is None or effective_from is None or effective_to is None:
            raise ReferenceDataError(
                "the file names do not say the fiscal year (e.g. icd10cm-codes-2027.txt); give the "
                "release's name and dates (--name, --from, --to)"
            )
        return import_release(
            tabular,
            codes,
            name=name,
            effective_from=effective_from,
            effective_to=effective_to,
            label=f"ICD-10-CM {name} (CMS files {', '.join(p.name for p in paths)})",
            base=base,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def release_gap(day: date, releases: list[Icd10Release] | None = None) -> Icd10Release | None:
    """The newest release when none covers ``day`` (the release to import is missing), else ``None``."""
    rels = releases if releases is not None else list_releases()
    if not rels or any(r.covers(day) for r in rels):
        return None
    return max(rels, key=lambda r: r.effective_from)


# --- the index -------------------------------------------------------------------------------

Entry = tuple[str, bool, bool]  # description, is leaf, has a 7th-character definition


def _fingerprint(release: Icd10Release) -> str:
    h = hashlib.sha256(f"v{_INDEX_VERSION}:{release.name}".encode())
    if release.tabular and release.codes:
        for p in (release.tabular, release.codes):
            st = os.stat(p)
            h.update(f"{p}:{st.st_size}:{st.st_mtime_ns}".encode())
    else:
        h.update(metadata.version("simple-icd-10-cm").encode())
    return h.hexdigest()[:16]


def _cache_dir() -> Path:
    return config.current().cache_path()


def _build_index(release: Icd10Release) -> dict[str, Entry]:
    import simple_icd_10_cm as lib  # slow import: parses the packaged XML

    if release.tabular and release.codes:
        try:
            lib.change_version(release.codes, release.tabular, suppress_warnings=True)
        except Exception as exc:  # the library raises many kinds on a bad file
            raise ReferenceDataError(f"cannot read ICD-10-CM release {release.name}: {exc}") from None
    try:
        index: dict[str, Entry] = {}
        for code in lib.get_all_codes(False):
            if lib.is_chapter(code) or lib.is_block(code):
                continue
            index[code] = (
                lib.get_description(code),
                lib.is_leaf(code),
                bool(lib.get_seven_chr_def(code, search_in_ancestors=True)),
            )
    finally:
        if release.tabular:
            lib.change_version()  # back to the packaged release
    if not index:
        raise ReferenceDataError(f"ICD-10-CM release {release.name} has no codes")
    return index


def _index_for(release: Icd10Release) -> dict[str, Entry]:
    path = _cache_dir() / f"icd10-{release.name}-{_fingerprint(release)}.json"
    if path.is_file():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return {k: (v[0], bool(v[1]), bool(v[2])) for k, v in raw.items()}
        except (OSError, ValueError, IndexError):
            pass  # a damaged cache is rebuilt
    index = _build_index(release)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(index, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # no cache folder: still works, just slower next time
    return index


class Icd10Service:
    """ICD-10-CM checks across the known releases (indexes loaded on first use)."""

    def __init__(self, releases: list[Icd10Release]) -> None:
        """Create the service over ``releases`` (at least one)."""
        if not releases:
            raise ReferenceDataError("no ICD-10-CM release is available")
        self.releases = sorted(releases, key=lambda r: r.effective_from)
        self._indexes: dict[str, dict[str, Entry]] = {}

    def release_for(self, day: date) -> tuple[Icd10Release, bool]:
        """The release in force on ``day``, and whether it really covers that day.

        When none covers it, the nearest earlier release (or the earliest) is returned with
        ``False``.
        """
        best = self.releases[0]
        covering: Icd10Release | None = None
        for release in self.releases:
            if release.covers(day):
                covering = release  # the latest-starting release covering the day wins
            if release.effective_from <= day:
                best = release
        return (covering, True) if covering is not None else (best, False)

    def _index(self, release: Icd10Release) -> dict[str, Entry]:
        index = self._indexes.get(release.name)
        if index is None:
            index = self._indexes[release.name] = _index_for(release)
        return index

    def check(self, code: str, day: date) -> Icd10Check:
        """Check ``code`` against the release in force on ``day``."""
        release, covers = self.release_for(day)
        key = normalize(code)
        entry = self._index(release).get(key)
        if entry is None:
            return Icd10Check(code, False, False, release.name, covers, None, False)
        description, leaf, seventh = entry
        needs_7th = seventh and len(key) < 7
        return Icd10Check(code, True, leaf and not needs_7th, release.name, covers, description, needs_7th)

    def describe(self, code: str, day: date | None = None) -> str | None:
        """The description of ``code`` (release of ``day``, else the newest)."""
        release = self.release_for(day)[0] if day else self.releases[-1]
        entry = self._index(release).get(normalize(code))
        return entry[0] if entry else None

    def search(self, text: str, day: date | None = None, limit: int = 20) -> list[tuple[str, str]]:
        """Billable codes matching ``text``, best first.

        A code that starts with the text ranks first, then descriptions that start with the
        text, then descriptions holding it as a phrase, then descriptions holding all its words.
        """
        release = self.release_for(day)[0] if day else self.releases[-1]
        query = text.strip().lower()
        if not query:
            return []
        key = normalize(query)
        words = query.split()
        ranked: list[tuple[int, str, str]] = []
        for code, (desc, leaf, _) in self._index(release).items():
            if not leaf:
                continue
            low = desc.lower()
            if code.startswith(key):
                rank = 0
            elif low.startswith(query):
                rank = 1
            elif query in low:
                rank = 2
            elif all(w in low for w in words):
                rank = 3
            else:
                continue
            ranked.append((rank, code, desc))
        ranked.sort()
        return [(format_code(code), desc) for _, code, desc in ranked[:limit]]


def format_code(code: str) -> str:
    """The dotted form of a code (``M5450`` → ``M54.50``)."""
    key = normalize(code)
    return key if len(key) <= 3 else f"{key[:3]}.{key[3:]}"


@cache
def icd10() -> Icd10Service:
    """The process-wide ICD-10-CM service over the shipped and imported releases."""
    return Icd10Service(list_releases())
