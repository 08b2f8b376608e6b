"""Settings of the web app, from ``THERABILL_*`` environment variables or given in code."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from therabill import config
from therabill.service_layer.accounts import SessionPolicy


class Settings(BaseSettings):
    """Web app settings.

    Attributes:
        database_url: the database URL; wins over ``data_dir``.
        data_dir: the data folder holding ``therabill.sqlite3`` (default: the user's data folder).
        idle_timeout_minutes: automatic logoff after this many idle minutes.
        absolute_lifetime_hours: a session ends this long after log-in.
        mfa_for_all: require TOTP of every role (owner and biller always need it).
        secure_cookies: mark cookies ``Secure`` and send HSTS (set when served over TLS).
        max_upload_bytes: the largest file accepted (835 uploads).
        login_failures_per_user: failed log-ins per username per 15 minutes before refusing.
        login_failures_per_ip: failed log-ins per address per 15 minutes before refusing.
    """

    model_config = SettingsConfigDict(env_prefix="THERABILL_", extra="ignore")

    database_url: str | None = None
    data_dir: str | None = None
    idle_timeout_minutes: int = 15
    absolute_lifetime_hours: int = 12
    mfa_for_all: bool = False
    secure_cookies: bool = False
    max_upload_bytes: int = 10 * 1024 * 1024
    login_failures_per_user: int = 10
    login_failures_per_ip: int = 100

    def url(self) -> str:
        """The database URL in effect."""
        return self.database_url or config.database_url(self.data_dir)

    def policy(self) -> SessionPolicy:
        """The session and log-in policy."""
        return SessionPolicy(
            idle_minutes=self.idle_timeout_minutes,
            absolute_hours=self.absolute_lifetime_hours,
            max_failures_per_user=self.login_failures_per_user,
            max_failures_per_ip=self.login_failures_per_ip,
            mfa_for_all=self.mfa_for_all,
        )
