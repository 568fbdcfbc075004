"""All configuration, from the environment (12-factor), in one place.

Every setting has a default that works out of the box (a SQLite file under ``./var``,
in-process run). A wrong value stops start-up with a message naming the variable.
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "config"


class SettingsError(RuntimeError):
    """A setting from the environment is missing or malformed."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    database_url: str = Field("sqlite:///./var/cnai.db", validation_alias="DATABASE_URL")
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    celery_broker_url: str | None = Field(None, validation_alias="CELERY_BROKER_URL")
    sentry_dsn: SecretStr | None = Field(None, validation_alias="SENTRY_DSN")
    sentry_environment: str = Field("production", validation_alias="SENTRY_ENVIRONMENT")
    slack_webhook_url: SecretStr | None = Field(None, validation_alias="SLACK_WEBHOOK_URL")
    smtp_url: SecretStr | None = Field(None, validation_alias="SMTP_URL")
    alert_email_from: str = Field("cnai-monitor@localhost", validation_alias="ALERT_EMAIL_FROM")
    alert_email_to: str | None = Field(None, validation_alias="ALERT_EMAIL_TO")
    fetch_allowed_networks: str = Field("", validation_alias="FETCH_ALLOWED_NETWORKS")
    fetch_allow_file_urls: bool = Field(False, validation_alias="FETCH_ALLOW_FILE_URLS")
    fetch_timeout_s: float = Field(10.0, gt=0, validation_alias="FETCH_TIMEOUT_SECONDS")
    fetch_deadline_s: float = Field(30.0, gt=0, validation_alias="FETCH_DEADLINE_SECONDS")
    fetch_max_bytes: int = Field(10 * 1024 * 1024, gt=0, validation_alias="FETCH_MAX_BYTES")
    fetch_user_agent: str = Field(
        "cnai-monitor/0.1 (+https://github.com/cnai-monitor; feed monitor)", validation_alias="FETCH_USER_AGENT"
    )
    fetch_per_host_concurrency: int = Field(2, ge=1, validation_alias="FETCH_PER_HOST_CONCURRENCY")
    fetch_per_host_gap_s: float = Field(1.0, ge=0, validation_alias="FETCH_PER_HOST_GAP_SECONDS")
    feeds_file: Path = Field(CONFIG_DIR / "default_feeds.yaml", validation_alias="FEEDS_FILE")
    poll_interval_s: int = Field(900, gt=0, validation_alias="POLL_INTERVAL_SECONDS")
    poll_min_interval_s: int = Field(300, gt=0, validation_alias="POLL_MIN_INTERVAL_SECONDS")
    poll_max_interval_s: int = Field(6 * 3600, gt=0, validation_alias="POLL_MAX_INTERVAL_SECONDS")
    feed_max_failures: int = Field(10, ge=1, validation_alias="FEED_MAX_FAILURES")
    classifier_model_path: Path | None = Field(None, validation_alias="CLASSIFIER_MODEL_PATH")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    log_format: str = Field("text", pattern="^(text|json)$", validation_alias="LOG_FORMAT")

    @property
    def broker_url(self) -> str:
        return self.celery_broker_url or self.redis_url

    @field_validator("fetch_allowed_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"{part!r} is not a CIDR network (e.g. 127.0.0.0/8)") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_parse(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from exc
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() and not value.get_secret_value().startswith(("smtp://", "smtps://")):
            raise ValueError("must start with smtp:// or smtps:// (e.g. smtp://user:pass@host:587?starttls=true)")
        return value

    @property
    def allowed_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [
            ipaddress.ip_network(p.strip(), strict=False) for p in self.fetch_allowed_networks.split(",") if p.strip()
        ]

    def secrets(self) -> list[str]:
        """Secret values, for scrubbing from logs, alerts and Sentry events."""
        values = [s.get_secret_value() for s in (self.sentry_dsn, self.slack_webhook_url, self.smtp_url) if s]
        return [v for v in values if v]


def load_settings() -> Settings:
    """Read settings from the environment, or raise SettingsError naming each bad variable."""
    try:
        return Settings()  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            problems.append(f"{name}: {err['msg']} (got {err.get('input')!r})" if name not in SECRET_NAMES else f"{name}: {err['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


SECRET_NAMES = {"SENTRY_DSN", "SLACK_WEBHOOK_URL", "SMTP_URL"}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
