"""Settings of the web app, from ``THERABILL_*`` environment variables or given in code."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from therabill import config
from therabill.adapters.mail import SmtpSettings
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
        token_default_days: lifetime of an API token created without one.
        token_max_days: the longest lifetime an API token may be given.
        trusted_proxies: comma-separated addresses or networks (``127.0.0.1,10.0.0.0/8``) of
            reverse proxies whose ``X-Forwarded-For`` names the client; empty (the default):
            the header is ignored and the peer address is the client.
        max_body_bytes: the largest request body of a non-upload request.
        profiles_dir, cache_dir, font_dir, allow_unsafe_db: the installation's folders (see
            ``therabill.config.Installation``).
        refdata_practice: in an installation of several practices, the one (slug or id) whose
            owners may replace the shared reference data.
        smtp_host, smtp_port, smtp_sender, smtp_username, smtp_password, smtp_starttls,
            smtp_tls: the mail server that sends reminders, log-in links, statements and
            receipts; no ``smtp_host``: nothing is emailed.
        public_url: the site's address as clients reach it (``https://book.example.com``),
            used for the links in emails; empty: the address each request came to.
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
    token_default_days: int = Field(default=90, ge=1, le=3650)
    token_max_days: int = Field(default=365, ge=1, le=3650)
    trusted_proxies: str = ""
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    profiles_dir: str | None = None
    cache_dir: str | None = None
    font_dir: str | None = None
    allow_unsafe_db: bool = False
    refdata_practice: str = ""
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "therabill <therabill@localhost>"
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_starttls: bool = False
    smtp_tls: bool = False
    public_url: str | None = None

    def mail(self) -> SmtpSettings | None:
        """The mail server settings, or None when no server is set."""
        if not self.smtp_host:
            return None
        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            sender=self.smtp_sender,
            username=self.smtp_username,
            password=self.smtp_password,
            starttls=self.smtp_starttls,
            tls=self.smtp_tls,
        )

    def proxies(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The trusted proxies as networks (a bad entry refuses to start, naming it)."""
        out = []
        for item in self.trusted_proxies.replace(" ", ",").split(","):
            if item:
                try:
                    out.append(ip_network(item, strict=False))
                except ValueError:
                    raise ValueError(
                        f"THERABILL_TRUSTED_PROXIES: {item!r} is not an address or network"
                    ) from None
        return tuple(out)

    def installation(self) -> config.Installation:
        """The installation these settings describe, with the practices' own payer profiles
        in ``<data folder>/profiles`` (unless only a database URL was given)."""
        return config.Installation(
            data_dir=self.data_dir,
            database_url=self.database_url,
            profiles_dir=self.profiles_dir,
            cache_dir=self.cache_dir,
            font_dir=self.font_dir,
            allow_unsafe_db=self.allow_unsafe_db,
        ).with_practice_profiles(explicit_database=self.database_url is not None)

    def url(self) -> str:
        """The database URL in effect."""
        return self.installation().url()

    def policy(self) -> SessionPolicy:
        """The session and log-in policy."""
        return SessionPolicy(
            idle_minutes=self.idle_timeout_minutes,
            absolute_hours=self.absolute_lifetime_hours,
            max_failures_per_user=self.login_failures_per_user,
            max_failures_per_ip=self.login_failures_per_ip,
            mfa_for_all=self.mfa_for_all,
            token_default_days=min(self.token_default_days, self.token_max_days),
            token_max_days=self.token_max_days,
        )
