"""All configuration, from the environment (12-factor), in one place.

Every setting has a default that works out of the box (a SQLite file under ``./var``,
in-process run). A wrong value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.heartbeat_state import DEFAULT_BEAT_HEARTBEAT_FILE, DEFAULT_WORKER_HEARTBEAT_FILE

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "config"


class SettingsError(RuntimeError):
    """A setting from the environment is missing or malformed."""


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: Schemes each URL setting accepts (Celery's broker: the transports this project installs and documents).
URL_SCHEMES = {
    "REDIS_URL": ("redis", "rediss", "unix"),
    "CELERY_BROKER_URL": ("redis", "rediss", "unix", "sentinel", "amqp", "amqps", "memory"),
    "SENTRY_DSN": ("http", "https"),
    "SLACK_WEBHOOK_URL": ("https", "http"),
}
DATABASE_BACKENDS = ("sqlite", "postgresql")


def _check_scheme(name: str, url: str) -> None:
    from urllib.parse import urlsplit

    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme not in URL_SCHEMES[name]:
        wanted = ", ".join(f"{s}://" for s in URL_SCHEMES[name])
        raise ValueError(f"unsupported scheme {scheme + '://' if scheme else '(none)'}; use {wanted}")


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
    alert_burst_threshold: int = Field(20, ge=1, validation_alias="ALERT_BURST_THRESHOLD")
    alert_digest_max_items: int = Field(100, ge=2, le=100, validation_alias="ALERT_DIGEST_MAX_ITEMS")
    alert_pace_s: float = Field(1.0, ge=0, validation_alias="ALERT_PACE_SECONDS")
    alert_max_attempts: int = Field(6, ge=1, validation_alias="ALERT_MAX_ATTEMPTS")
    alert_retry_base_s: float = Field(30.0, gt=0, validation_alias="ALERT_RETRY_BASE_SECONDS")
    alert_claim_s: float = Field(300.0, gt=0, validation_alias="ALERT_CLAIM_SECONDS")
    alert_send_timeout_s: float = Field(10.0, gt=0, validation_alias="ALERT_SEND_TIMEOUT_SECONDS")
    alert_sweep_budget_s: float = Field(40.0, gt=0, validation_alias="ALERT_SWEEP_SECONDS")
    alert_backfill_hours: float = Field(24.0, ge=0, validation_alias="ALERT_BACKFILL_HOURS")
    llm_base_url: str | None = Field(None, validation_alias="LLM_BASE_URL")
    llm_model: str | None = Field(None, validation_alias="LLM_MODEL")
    llm_api_key: SecretStr | None = Field(None, validation_alias="LLM_API_KEY")
    llm_daily_tokens: int = Field(200_000, ge=0, validation_alias="LLM_DAILY_TOKENS")
    llm_timeout_s: float = Field(8.0, gt=0, le=60, validation_alias="LLM_TIMEOUT_SECONDS")
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
    #: Longest an article page fetch for full text may take (services/ingest/fulltext.py).
    full_text_max_wait_s: float = Field(8.0, gt=0, validation_alias="FULL_TEXT_MAX_WAIT_SECONDS")
    #: Total wait for full-text fetches in one feed's poll; items still waiting are stored with feed text only.
    full_text_poll_budget_s: float = Field(15.0, gt=0, validation_alias="FULL_TEXT_POLL_BUDGET_SECONDS")
    #: Base URL of an RSSHub instance; catalogue entries given as RSSHub routes are skipped without it.
    rsshub_base_url: str | None = Field(None, validation_alias="RSSHUB_BASE_URL")
    #: Comma-separated folders `cnai feeds import --defaults` loads when no --folder is given; empty = all.
    feeds_folders: str = Field("", validation_alias="FEEDS_FOLDERS")
    poll_interval_s: int = Field(900, gt=0, validation_alias="POLL_INTERVAL_SECONDS")
    poll_min_interval_s: int = Field(300, gt=0, validation_alias="POLL_MIN_INTERVAL_SECONDS")
    poll_max_interval_s: int = Field(6 * 3600, gt=0, validation_alias="POLL_MAX_INTERVAL_SECONDS")
    feed_max_failures: int = Field(10, ge=1, validation_alias="FEED_MAX_FAILURES")
    classifier_model_path: Path | None = Field(None, validation_alias="CLASSIFIER_MODEL_PATH")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    log_format: str = Field("text", pattern="^(text|json)$", validation_alias="LOG_FORMAT")
    sentry_release: str | None = Field(None, validation_alias="SENTRY_RELEASE")
    sentry_traces_sample_rate: float = Field(0.0, ge=0, le=1, validation_alias="SENTRY_TRACES_SAMPLE_RATE")
    worker_heartbeat_file: Path = Field(DEFAULT_WORKER_HEARTBEAT_FILE, validation_alias="WORKER_HEARTBEAT_FILE")
    beat_heartbeat_file: Path = Field(DEFAULT_BEAT_HEARTBEAT_FILE, validation_alias="BEAT_HEARTBEAT_FILE")
    #: How often the heartbeat thread pings the broker and rewrites the heartbeat file.
    heartbeat_interval_s: float = Field(5.0, gt=0, validation_alias="HEARTBEAT_INTERVAL_SECONDS")
    #: Per process: pooled connections kept open, and extra ones opened under load (docs/deploy.md, "Connection budget").
    database_pool_size: int = Field(2, ge=1, validation_alias="DATABASE_POOL_SIZE")
    database_max_overflow: int = Field(2, ge=0, validation_alias="DATABASE_MAX_OVERFLOW")
    #: A worker waits this long at start for the schema to reach the head revision, then exits.
    schema_wait_s: float = Field(120.0, ge=0, validation_alias="SCHEMA_WAIT_SECONDS")
    #: A prefork pool process is replaced after a task leaves it above this resident size (KiB).
    worker_max_memory_per_child_kb: int = Field(358_400, gt=0, validation_alias="WORKER_MAX_MEMORY_PER_CHILD_KB")
    metrics_port: int = Field(9108, ge=0, le=65535, validation_alias="METRICS_PORT")
    dispatch_interval_s: float = Field(60.0, gt=0, validation_alias="DISPATCH_INTERVAL_SECONDS")
    delivery_sweep_interval_s: float = Field(15.0, gt=0, validation_alias="DELIVERY_SWEEP_INTERVAL_SECONDS")
    task_soft_time_limit_s: int = Field(120, gt=0, validation_alias="TASK_SOFT_TIME_LIMIT_SECONDS")
    task_time_limit_s: int = Field(150, gt=0, validation_alias="TASK_TIME_LIMIT_SECONDS")
    poll_lease_s: int = Field(300, gt=0, validation_alias="POLL_LEASE_SECONDS")
    poll_batch_size: int = Field(10, ge=1, le=200, validation_alias="POLL_BATCH_SIZE")
    poll_batch_threads: int = Field(8, ge=1, le=64, validation_alias="POLL_BATCH_THREADS")
    dispatch_min_feeds: int = Field(200, ge=1, validation_alias="DISPATCH_MIN_FEEDS")
    fetch_per_host_shared: bool = Field(True, validation_alias="FETCH_PER_HOST_SHARED")
    fetch_log_retention_days: float = Field(30.0, gt=0, validation_alias="FETCH_LOG_RETENTION_DAYS")
    feed_entry_retention_days: float = Field(90.0, gt=0, validation_alias="FEED_ENTRY_RETENTION_DAYS")
    retention_batch_rows: int = Field(5000, ge=1, validation_alias="RETENTION_BATCH_ROWS")
    retention_interval_s: float = Field(3600.0, gt=0, validation_alias="RETENTION_INTERVAL_SECONDS")
    broker_visibility_timeout_s: int = Field(600, gt=0, validation_alias="BROKER_VISIBILITY_TIMEOUT_SECONDS")
    # web app (cnai web) and reader feedback
    web_secret_key: SecretStr | None = Field(None, validation_alias="WEB_SECRET_KEY")
    web_base_url: str | None = Field(None, validation_alias="WEB_BASE_URL")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    web_trusted_user_header: str | None = Field(None, validation_alias="WEB_TRUSTED_USER_HEADER")
    web_trusted_proxies: str = Field("", validation_alias="WEB_TRUSTED_PROXIES")
    web_login_attempts: int = Field(5, ge=1, validation_alias="WEB_LOGIN_ATTEMPTS")
    web_login_window_s: int = Field(300, gt=0, validation_alias="WEB_LOGIN_WINDOW_SECONDS")
    web_session_hours: float = Field(12.0, gt=0, validation_alias="WEB_SESSION_HOURS")
    email_link_days: float = Field(7.0, gt=0, validation_alias="EMAIL_LINK_DAYS")
    model_retrain_interval_s: float = Field(86400.0, gt=0, validation_alias="MODEL_RETRAIN_INTERVAL_SECONDS")
    model_retrain_min_labels: int = Field(5, ge=1, validation_alias="MODEL_RETRAIN_MIN_LABELS")
    model_eval_file: Path | None = Field(None, validation_alias="MODEL_EVAL_FILE")

    @property
    def broker_url(self) -> str:
        return self.celery_broker_url or self.redis_url

    @field_validator("fetch_allowed_networks", "web_trusted_proxies")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"{part!r} is not a CIDR network (e.g. 127.0.0.0/8)") from exc
        return value

    @field_validator("web_base_url")
    @classmethod
    def _base_url_parse(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be the web app's public http(s) URL, e.g. https://cnai.example.org")
        return value.rstrip("/") if value else None

    @field_validator("database_url")
    @classmethod
    def _database_url_parse(cls, value: str) -> str:
        # Checked without importing SQLAlchemy, so commands without a database start fast.
        scheme, sep, _rest = value.strip().partition("://")
        if not sep or not scheme or not scheme.replace("+", "").replace("_", "").isalnum():
            raise ValueError("not a database URL; use sqlite:///path or postgresql+psycopg://user@host/db")
        backend = scheme.split("+", 1)[0].lower()
        if backend not in DATABASE_BACKENDS:
            raise ValueError(
                f"unsupported database {backend!r}; use sqlite:///path or postgresql+psycopg://user@host/db"
            )
        return value

    @field_validator("rsshub_base_url")
    @classmethod
    def _rsshub_url_parse(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, e.g. http://rsshub.cnai.svc.cluster.local:1200")
        return value or None

    @field_validator("log_level")
    @classmethod
    def _log_level_known(cls, value: str) -> str:
        if value.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"unknown log level; use one of {', '.join(LOG_LEVELS)}")
        return value.strip().upper()

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: str) -> str:
        _check_scheme("REDIS_URL", value)
        return value

    @field_validator("celery_broker_url")
    @classmethod
    def _broker_url_scheme(cls, value: str | None) -> str | None:
        if value:
            _check_scheme("CELERY_BROKER_URL", value)
        return value or None

    @field_validator("sentry_dsn", "slack_webhook_url")
    @classmethod
    def _secret_url_scheme(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            name = "SENTRY_DSN" if info.field_name == "sentry_dsn" else "SLACK_WEBHOOK_URL"
            _check_scheme(name, value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Settings:
        if self.poll_min_interval_s > self.poll_max_interval_s:
            raise ValueError(
                f"POLL_MIN_INTERVAL_SECONDS ({self.poll_min_interval_s}) must not exceed "
                f"POLL_MAX_INTERVAL_SECONDS ({self.poll_max_interval_s})"
            )
        return self

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if (
            value is not None
            and value.get_secret_value()
            and not value.get_secret_value().startswith(("smtp://", "smtps://"))
        ):
            raise ValueError("must start with smtp:// or smtps:// (e.g. smtp://user:pass@host:587?starttls=true)")
        return value

    @field_validator("llm_base_url")
    @classmethod
    def _llm_url_parse(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL of an OpenAI-compatible API, e.g. https://api.example.com/v1")
        return value or None

    @property
    def llm_enabled(self) -> bool:
        """The LLM path is on when LLM_BASE_URL, LLM_MODEL and LLM_API_KEY are all set."""
        return bool(self.llm_base_url and self.llm_model and self.llm_api_key and self.llm_api_key.get_secret_value())

    @property
    def allowed_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [
            ipaddress.ip_network(p.strip(), strict=False) for p in self.fetch_allowed_networks.split(",") if p.strip()
        ]

    def secrets(self) -> list[str]:
        """Secret values, for scrubbing from logs, alerts and Sentry events."""
        values = [
            s.get_secret_value()
            for s in (
                self.sentry_dsn,
                self.slack_webhook_url,
                self.smtp_url,
                self.llm_api_key,
                self.web_secret_key,
                self.slack_signing_secret,
            )
            if s
        ]
        values += [_url_password(url) for url in (self.database_url, self.redis_url, self.broker_url, *values)]
        return list(dict.fromkeys(v for v in values if v))


def load_settings() -> Settings:
    """Read settings from the environment, or raise SettingsError naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            message = err["msg"].removeprefix("Value error, ")
            if not err["loc"]:  # a rule across several settings: its message names them
                problems.append(message)
                continue
            name = str(err["loc"][0]).upper()
            given = err.get("input")
            if isinstance(given, str) and _url_password(given):
                given = given.replace(_url_password(given), "***")
            problems.append(f"{name}: {message} (got {given!r})" if name not in SECRET_NAMES else f"{name}: {message}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


def _url_password(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return ""
    return unquote(password) if password else ""


SECRET_NAMES = {"SENTRY_DSN", "SLACK_WEBHOOK_URL", "SMTP_URL", "LLM_API_KEY", "WEB_SECRET_KEY", "SLACK_SIGNING_SECRET"}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
