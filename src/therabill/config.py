"""Where therabill keeps its data: the installation's settings, read from the environment once.

``Installation`` is what every part of therabill may need to know about the machine it runs
on: the data folder, the database URL, the folders of payer profiles, the cache and the
fonts. ``from_environ`` is the only reader of ``THERABILL_*`` variables in the package; an
entry point builds an ``Installation`` (the CLI from the environment, the web app from its
``Settings``) and puts it in force with ``install`` (the process) or ``using`` (a block: the
web app for each request), as ``therabill.clock`` does for time. Nothing writes the
environment.

``THERABILL_DATABASE_URL`` wins when set; otherwise the database is the SQLite file
``therabill.sqlite3`` in the data folder: ``THERABILL_DATA_DIR`` when set, else the user's
data folder (``~/.local/share/therabill`` on Linux).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir

DB_FILENAME = "therabill.sqlite3"


@dataclass(frozen=True, slots=True)
class Installation:
    """The installation's settings.

    Attributes:
        data_dir: the data folder (``THERABILL_DATA_DIR``); None: the user's data folder.
        database_url: the database (``THERABILL_DATABASE_URL``); None: SQLite in the data folder.
        profiles_dir: extra payer-profile folders, ``os.pathsep``-separated
            (``THERABILL_PROFILES_DIR``); the web app adds ``<data folder>/profiles``.
        cache_dir: the cache folder (``THERABILL_CACHE_DIR``); None: the user's cache folder.
        font_dir: a folder of TrueType fonts for PDFs (``THERABILL_FONT_DIR``).
        allow_unsafe_db: accept a database file with loose permissions (``THERABILL_ALLOW_UNSAFE_DB=1``).
    """

    data_dir: str | None = None
    database_url: str | None = None
    profiles_dir: str | None = None
    cache_dir: str | None = None
    font_dir: str | None = None
    allow_unsafe_db: bool = False

    def data_path(self, override: str | os.PathLike[str] | None = None) -> Path:
        """The data folder (created on first use, readable by its owner only)."""
        raw = override or self.data_dir or user_data_dir("therabill", appauthor=False)
        path = Path(raw).expanduser()
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def url(self, data_dir_override: str | os.PathLike[str] | None = None) -> str:
        """The database URL: the one given, else the SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_path(data_dir_override) / DB_FILENAME}"

    def profile_dirs(self) -> tuple[Path, ...]:
        """The folders of payer profiles beyond the packaged ones, in order."""
        if not self.profiles_dir:
            return ()
        return tuple(Path(p) for p in self.profiles_dir.split(os.pathsep) if p)

    def cache_path(self) -> Path:
        """The cache folder (not created here)."""
        return Path(self.cache_dir or user_cache_dir("therabill", appauthor=False))

    def with_practice_profiles(self, *, explicit_database: bool = False) -> Installation:
        """This installation with ``<data folder>/profiles`` as its profile folder, unless one is
        set already or the app was given only a database URL (then there is no data folder)."""
        if self.profiles_dir or (explicit_database and self.data_dir is None):
            return self
        return replace(self, profiles_dir=str(self.data_path() / "profiles"))


def from_environ(environ: Mapping[str, str] | None = None) -> Installation:
    """The installation as the ``THERABILL_*`` environment variables describe it."""
    env = os.environ if environ is None else environ
    return Installation(
        data_dir=env.get("THERABILL_DATA_DIR") or None,
        database_url=env.get("THERABILL_DATABASE_URL") or None,
        profiles_dir=env.get("THERABILL_PROFILES_DIR") or None,
        cache_dir=env.get("THERABILL_CACHE_DIR") or None,
        font_dir=env.get("THERABILL_FONT_DIR") or None,
        allow_unsafe_db=env.get("THERABILL_ALLOW_UNSAFE_DB", "") == "1",
    )


_SCOPED: ContextVar[Installation | None] = ContextVar("therabill_installation", default=None)
_PROCESS: list[Installation] = []


def current() -> Installation:
    """The installation in force: the block's (``using``), else the process's (``install``),
    else the environment's (a library caller that installed nothing)."""
    scoped = _SCOPED.get()
    if scoped is not None:
        return scoped
    return _PROCESS[0] if _PROCESS else from_environ()


def install(installation: Installation) -> None:
    """Put ``installation`` in force for the whole process (a main entry point)."""
    _PROCESS[:] = [installation]


def uninstall() -> None:
    """Forget the process's installation (tests that change the environment)."""
    _PROCESS.clear()


@contextmanager
def using(installation: Installation) -> Iterator[Installation]:
    """Put ``installation`` in force for the block (and the threads it hands its context to)."""
    token = _SCOPED.set(installation)
    try:
        yield installation
    finally:
        _SCOPED.reset(token)


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data folder of the installation in force (created on first use)."""
    return current().data_path(override)


def database_url(data_dir_override: str | os.PathLike[str] | None = None) -> str:
    """The database URL of the installation in force."""
    return current().url(data_dir_override)
