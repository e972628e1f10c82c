"""Configuration from environment variables, checked before anything starts.

Every setting is an `AUDITBOT_*` variable. A missing or contradictory setting
raises `ConfigError` whose message is one line naming the variable, so the
operator knows exactly what to fix; the CLI prints it and exits. There are no
placeholder credentials: authentication is off only in the explicit demo
mode (`AUDITBOT_DEMO=true`), and the service says so loudly when it is.

Demo mode accepts unsigned requests from anyone who can reach it, so it runs
only as a demo: listening on loopback, on SQLite, with no tenant and no
credentials of any kind. Any of those settings alongside it stops the start,
naming the one in the way, rather than serving real data unauthenticated.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.ratelimit import parse_windows
from workflow.rules import ProgrammeRules

PREFIX = "AUDITBOT_"
RULE_PREFIX = "AUDITBOT_RULE_"
DEFAULT_DATABASE_URL = "sqlite:///auditbot.sqlite3"
DEVELOPER_NAME_MAX = 32
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# What the Teams app package needs, in the order a missing one is reported.
APP_LISTING_SETTINGS = (
    ("app_developer_name", "the name Teams shows as the app's developer, e.g. the council's"),
    ("app_website_url", "the https page about auditbot for your staff"),
    ("app_privacy_url", "the https page of the app's privacy notice"),
    ("app_terms_url", "the https page of the app's terms of use"),
)


class ConfigError(Exception):
    """A setting is missing, malformed or contradicts another; the message names it."""


class Settings(BaseSettings):
    """The service's settings. Field `x` is read from `AUDITBOT_X`."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    demo: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=3978, ge=1, le=65535)
    database_url: str = DEFAULT_DATABASE_URL
    # How long a SQLite write waits for another's lock before failing.
    database_busy_timeout_seconds: float = Field(default=15.0, gt=0, le=600)

    app_id: str = ""
    app_password: str = ""
    app_cert_thumbprint: str = ""
    app_cert_key_file: str = ""
    app_type: Literal["SingleTenant", "MultiTenant", "UserAssignedMSI"] = "SingleTenant"
    tenant_id: str = ""
    # Where Bot Framework publishes the keys that sign Teams' requests. Change it
    # only for a sovereign cloud, or to point at a local stand-in in tests.
    botframework_openid_url: str = ""
    # The Audit Team's workspace tab (workspace/): Teams single sign-on tokens are checked
    # against the tenant's Entra signing keys, for the audience api://<tab_domain>/<app_id>
    # (the app registration's "Application ID URI") or `tab_audience` if it differs.
    tab_domain: str = ""
    tab_audience: str = ""
    # Where Entra publishes the keys; change it only for a sovereign cloud or a test stand-in.
    tab_openid_authority: str = "https://login.microsoftonline.com"
    # The tracker lists who has not pressed "I've seen this" on an allocation notice this
    # many working days after it was sent.
    acknowledge_within_working_days: int = Field(default=2, ge=0, le=20)

    # The Teams app listing, needed only by `auditbot manifest build`: who
    # publishes the app and the council's pages about it. No defaults: an app
    # pointing at a placeholder page must not reach a council's Teams.
    app_developer_name: str = ""
    app_website_url: str = ""
    app_privacy_url: str = ""
    app_terms_url: str = ""

    timezone: str = "Europe/London"
    holiday_region: str = "GB-ENG"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "json": one JSON object a line, with the ids of what was handled (for a log store).
    log_format: Literal["text", "json"] = "text"

    # Proactive messages: the outbox sender (bot/outbox.py) and Teams' limits.
    outbox_sender: bool = True
    # On PostgreSQL one instance sends at a time (bot/election.py); one taking over waits this
    # long before its first request (default: its lock check plus the longest app window).
    outbox_handover_seconds: float | None = Field(default=None, ge=0, le=600)
    # Where to create a 1:1 chat with someone who has never talked to the bot.
    teams_service_url: str = "https://smba.trafficmanager.net/uk/"
    # COUNT/SECONDS windows: at most COUNT requests in any SECONDS.
    outbox_app_limits: str = "50/1"
    outbox_conversation_limits: str = "7/1,8/2,60/30,1800/3600"
    outbox_limit_margin_seconds: float = Field(default=0.0, ge=0, le=5)
    outbox_max_attempts: int = Field(default=6, ge=1, le=100)
    outbox_backoff_seconds: float = Field(default=2.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=600.0, gt=0)
    outbox_request_timeout_seconds: float = Field(default=30.0, gt=0)
    outbox_claim_timeout_seconds: float = Field(default=120.0, gt=0)
    outbox_concurrency: int = Field(default=16, ge=1, le=256)
    outbox_poll_seconds: float = Field(default=1.0, gt=0)

    # The scheduler (scheduler/engine.py): it only triggers jobs; due work is in the database.
    # Off in tests and for a second web-only instance (any number of instances may run it).
    scheduler_enabled: bool = True
    scheduler_tick_seconds: int = Field(default=60, ge=5, le=3600)
    scheduler_daily_at: str = "07:00"  # local time of the daily sweep
    scheduler_weekly_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    scheduler_weekly_at: str = "08:00"  # local time of the weekly digest

    # Microsoft Graph (bot/graph.py), for booking UoPP meetings in Outlook/Teams and reading
    # Entra ID (`auditbot sync entra`). All of tenant, client id and a secret or certificate;
    # or the managed identity; or none (then the local calendar).
    graph_managed_identity: bool = False  # AZURE_CLIENT_ID names the user-assigned identity
    graph_tenant_id: str = ""
    graph_client_id: str = ""
    graph_client_secret: str = ""
    graph_certificate_path: str = ""
    graph_certificate_password: str = ""
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    graph_authority_host: str = "login.microsoftonline.com"
    # Extra CA bundle to trust (a TLS-inspecting proxy; the tests' local token endpoint).
    graph_ca_file: str = ""
    graph_max_retries: int = Field(default=3, ge=0, le=10)
    graph_max_retry_wait_seconds: float = Field(default=60.0, gt=0)
    graph_retry_backoff_seconds: float = Field(default=1.0, gt=0)
    graph_timeout_seconds: float = Field(default=30.0, gt=0)
    # OpenTelemetry traces and metrics (telemetry/otel.py): off, OTLP over HTTP (the
    # OTEL_EXPORTER_OTLP_* variables), or Azure Monitor (APPLICATIONINSIGHTS_CONNECTION_STRING).
    telemetry: Literal["off", "otlp", "azure_monitor"] = "off"
    # Days a closed audit's free text is kept before it is reduced to the figures (and a
    # delivered message's content); 0 keeps everything (storage/retention.py).
    retention_days: int = Field(default=0, ge=0, le=36500)
    # Which Entra groups make whom what (storage/imports/entra.py); `auditbot sync entra`.
    entra_mapping: str = ""

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("outbox_app_limits", "outbox_conversation_limits")
    @classmethod
    def _windows(cls, value: str) -> str:
        parse_windows(value)
        return value

    @field_validator("scheduler_daily_at", "scheduler_weekly_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
            raise ValueError(f"must be a 24-hour time such as 08:00 (got {value!r})")
        return value.strip()

    @field_validator("teams_service_url")
    @classmethod
    def _service_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(
                "must be an http(s):// URL such as https://smba.trafficmanager.net/uk/"
            )
        return value if value.endswith("/") else value + "/"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/London") from error
        return value

    @field_validator("holiday_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        country, _, subdivision = value.partition("-")
        try:
            holidays.country_holidays(country, subdiv=subdivision or None)
        except NotImplementedError as error:
            raise ValueError(
                f"{value!r} is not a bank holiday region; use COUNTRY-SUBDIVISION such as GB-ENG"
            ) from error
        return value

    @field_validator("app_developer_name")
    @classmethod
    def _short_developer_name(cls, value: str) -> str:
        if len(value) > DEVELOPER_NAME_MAX:
            raise ValueError(f"at most {DEVELOPER_NAME_MAX} characters (Teams' limit)")
        return value

    @field_validator("app_website_url", "app_privacy_url", "app_terms_url")
    @classmethod
    def _https_page(cls, value: str) -> str:
        if value and not _is_https_page(value):
            raise ValueError(f"must be an https:// address of a web page (got {value!r})")
        return value

    @model_validator(mode="after")
    def _demo_stays_local(self) -> Settings:
        problem = _demo_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _credentials_agree(self) -> Settings:
        problem = _credential_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _claims_outlast_sends(self) -> Settings:
        budget = send_budget(
            self.outbox_request_timeout_seconds, self.database_busy_timeout_seconds
        )
        if self.outbox_claim_timeout_seconds <= budget:
            raise ValueError(
                "AUDITBOT_OUTBOX_CLAIM_TIMEOUT_SECONDS: must be more than everything one send "
                "can wait on, 2 x AUDITBOT_OUTBOX_REQUEST_TIMEOUT_SECONDS + 2 x "
                f"AUDITBOT_DATABASE_BUSY_TIMEOUT_SECONDS (here {budget:g} s), so a live "
                "sender's claim never expires under it"
            )
        return self

    @model_validator(mode="after")
    def _graph_complete(self) -> Settings:
        problem = _graph_problem(self) or _operations_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def graph_configured(self) -> bool:
        return bool(self.graph_tenant_id) or self.graph_managed_identity

    @property
    def holiday_country(self) -> str:
        return self.holiday_region.partition("-")[0]

    @property
    def holiday_subdivision(self) -> str | None:
        return self.holiday_region.partition("-")[2] or None

    @property
    def uses_certificate(self) -> bool:
        return bool(self.app_cert_thumbprint)


# Settings that mean a real deployment: demo mode refuses to start beside any of them.
PRODUCTION_SETTINGS = (
    ("tenant_id", "a Microsoft Entra tenant"),
    ("app_id", "the bot's Entra app id"),
    ("app_password", "the bot's client secret"),
    ("app_cert_thumbprint", "the bot's certificate"),
    ("graph_managed_identity", "Microsoft Graph through the managed identity"),
    ("graph_tenant_id", "Microsoft Graph credentials"),
    ("graph_client_id", "Microsoft Graph credentials"),
    ("graph_client_secret", "Microsoft Graph credentials"),
    ("graph_certificate_path", "Microsoft Graph credentials"),
)
LOOPBACK_NAMES = frozenset({"localhost"})


def send_budget(request_timeout: float, database_wait: float) -> float:
    """The longest the outbox sender's send-and-record can take once started: two requests
    to Teams (creating the chat, sending) and two database writes (saving the chat,
    recording the outcome), each bounded by its timeout."""
    return 2 * request_timeout + 2 * database_wait


def _demo_problem(s: Settings) -> str | None:
    """Why demo mode (authentication off) must not start with these settings, naming the
    setting in the way; None when it may, or when demo mode is off."""
    if not s.demo:
        return None
    off = "demo mode (AUDITBOT_DEMO) has authentication off, so it"
    if not _is_loopback(s.host):
        return (
            f"AUDITBOT_HOST: {off} listens on this machine only, and {s.host!r} is not a "
            "loopback address; use 127.0.0.1, or unset AUDITBOT_DEMO to serve others"
        )
    if not s.database_url.startswith("sqlite"):
        return (
            f"AUDITBOT_DATABASE_URL: {off} runs on its own SQLite file, never on PostgreSQL; "
            "unset AUDITBOT_DATABASE_URL, or unset AUDITBOT_DEMO to serve this database"
        )
    for name, meaning in PRODUCTION_SETTINGS:
        if getattr(s, name):
            variable = PREFIX + name.upper()
            return (
                f"{variable}: {off} cannot run with {meaning}; unset {variable}, or unset "
                "AUDITBOT_DEMO to run authenticated"
            )
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _credential_problem(s: Settings) -> str | None:
    """The first thing wrong with the credentials, phrased as `VARIABLE: why`."""
    if s.demo:
        return None  # _demo_problem: demo mode has no credentials at all
    if not s.app_id:
        return (
            "AUDITBOT_APP_ID: required (the bot's Microsoft Entra app id) unless AUDITBOT_DEMO=true"
        )
    if s.app_type == "UserAssignedMSI":
        if s.app_password or s.app_cert_thumbprint:
            return "AUDITBOT_APP_TYPE: UserAssignedMSI uses no password or certificate; unset them"
    elif s.app_password and s.app_cert_thumbprint:
        return (
            "AUDITBOT_APP_PASSWORD: set either a password or AUDITBOT_APP_CERT_THUMBPRINT, not both"
        )
    elif not s.app_password and not s.app_cert_thumbprint:
        return "AUDITBOT_APP_PASSWORD: required, or AUDITBOT_APP_CERT_THUMBPRINT with a key file"
    if s.app_cert_thumbprint and not Path(s.app_cert_key_file).is_file():
        return "AUDITBOT_APP_CERT_KEY_FILE: must name the certificate's private key (PEM) file"
    if not s.tenant_id:
        return "AUDITBOT_TENANT_ID: required (the council's Microsoft Entra tenant id)"
    return None


def _operations_problem(s: Settings) -> str | None:
    insights = os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING")
    if s.telemetry == "azure_monitor" and not insights:
        return (
            "AUDITBOT_TELEMETRY: azure_monitor needs APPLICATIONINSIGHTS_CONNECTION_STRING "
            "(the Application Insights resource's connection string)"
        )
    return None


def _graph_problem(s: Settings) -> str | None:
    """Graph is all set or not at all; the first thing wrong, as `VARIABLE: why`."""
    given = (s.graph_tenant_id, s.graph_client_id, s.graph_client_secret, s.graph_certificate_path)
    if s.graph_managed_identity:
        if s.graph_client_secret or s.graph_certificate_path:
            return (
                "AUDITBOT_GRAPH_MANAGED_IDENTITY: the managed identity uses no secret or "
                "certificate; unset AUDITBOT_GRAPH_CLIENT_SECRET and "
                "AUDITBOT_GRAPH_CERTIFICATE_PATH"
            )
    elif any(given):
        if not s.graph_tenant_id:
            return "AUDITBOT_GRAPH_TENANT_ID: required with the other AUDITBOT_GRAPH_* credentials"
        if not s.graph_client_id:
            return "AUDITBOT_GRAPH_CLIENT_ID: required (the Entra app id granted calendar access)"
        if s.graph_client_secret and s.graph_certificate_path:
            return (
                "AUDITBOT_GRAPH_CLIENT_SECRET: set a secret or AUDITBOT_GRAPH_CERTIFICATE_PATH, "
                "not both"
            )
        if not s.graph_client_secret and not s.graph_certificate_path:
            return "AUDITBOT_GRAPH_CLIENT_SECRET: required, or AUDITBOT_GRAPH_CERTIFICATE_PATH"
        if s.graph_certificate_path and not Path(s.graph_certificate_path).is_file():
            return "AUDITBOT_GRAPH_CERTIFICATE_PATH: must name a PEM or PKCS12 certificate file"
    if s.telemetry == "azure_monitor" and not os.environ.get(
        "APPLICATIONINSIGHTS_CONNECTION_STRING"
    ):
        return (
            "AUDITBOT_TELEMETRY: azure_monitor needs APPLICATIONINSIGHTS_CONNECTION_STRING "
            "(the Application Insights resource's connection string)"
        )
    if s.entra_mapping and not Path(s.entra_mapping).is_file():
        return "AUDITBOT_ENTRA_MAPPING: must name the Entra groups mapping file (TOML)"
    if s.graph_ca_file and not Path(s.graph_ca_file).is_file():
        return "AUDITBOT_GRAPH_CA_FILE: must name a PEM file of certificates to trust"
    base = urlsplit(s.graph_base_url)
    local = base.hostname in ("localhost", "127.0.0.1", "::1")
    if not base.hostname or not (base.scheme == "https" or (base.scheme == "http" and local)):
        return "AUDITBOT_GRAPH_BASE_URL: must be an https:// URL such as https://graph.microsoft.com/v1.0"
    authority = urlsplit(s.graph_authority_host)
    if authority.scheme not in ("", "https"):
        return "AUDITBOT_GRAPH_AUTHORITY_HOST: must be https (e.g. login.microsoftonline.com)"
    return None


def _is_https_page(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname) and not any(c.isspace() for c in value)


def require_app_listing(settings: Settings) -> None:
    """Raise ConfigError naming the first setting the Teams app package needs and lacks.

    The service runs without these; only `auditbot manifest build` asks for them.
    """
    if not settings.app_id:
        raise ConfigError(
            "AUDITBOT_APP_ID: required to build the Teams app package (the bot's Microsoft "
            "Entra app id)"
        )
    if not GUID.match(settings.app_id):
        raise ConfigError("AUDITBOT_APP_ID: must be a GUID (the bot's Microsoft Entra app id)")
    for name, meaning in APP_LISTING_SETTINGS:
        if not getattr(settings, name):
            raise ConfigError(
                f"{PREFIX}{name.upper()}: required to build the Teams app package ({meaning})"
            )


def load_settings(**overrides: object) -> Settings:
    """Read and check the settings from the environment; raise ConfigError with a one-line reason.

    `overrides` win over the environment (the CLI's `--port`, the demo's database).
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(_one_line(error)) from None


def load_rules(settings: Settings, environ: Mapping[str, str] | None = None) -> ProgrammeRules:
    """The programme's numbers, DOMAIN.md's defaults overridden by `AUDITBOT_RULE_<NAME>`.

    The time zone and bank holiday region come from the service's settings, so
    there is one place to set them.
    """
    environ = os.environ if environ is None else environ
    kinds = {field.name: field.type for field in dataclasses.fields(ProgrammeRules)}
    overrides: dict[str, object] = {
        "timezone": settings.timezone,
        "holiday_country": settings.holiday_country,
        "holiday_subdivision": settings.holiday_subdivision,
    }
    for key, raw in environ.items():
        if key.startswith(RULE_PREFIX):
            name = key[len(RULE_PREFIX) :].lower()
            try:
                overrides[name] = _coerce(kinds.get(name), raw)
            except ValueError as error:
                raise ConfigError(f"{key}: {error}") from None
    try:
        return ProgrammeRules().with_overrides(overrides)
    except ValueError as error:
        # The rules' messages begin with the setting's name; name the variable instead.
        name, _, reason = str(error).partition(" ")
        variable = RULE_PREFIX + name.rstrip(":").upper()
        raise ConfigError(f"{variable}: {reason}") from None


def _coerce(kind: object, raw: str) -> object:
    """Environment values are text; turn them into the rule's own type."""
    if kind in (int, "int"):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"must be a whole number (got {raw!r})") from None
    if kind in (float, "float"):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"must be a number (got {raw!r})") from None
    if kind in ("str | None",) and raw == "":
        return None
    return raw


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    if first["loc"]:
        variable = PREFIX + str(first["loc"][0]).upper()
        return f"{variable}: {message}"
    return message  # model-level checks already start with the variable's name


def configure_logging(settings: Settings) -> None:
    """Log lines at the configured level, as text or JSON lines (bot/logs.py)."""
    from telemetry.logs import configure_logging as configure

    configure(settings.log_level, settings.log_format)
