"""Error reporting to Sentry, with every secret scrubbed before an event leaves the process.

``init_sentry`` is called once per process by each entry point: the Celery worker (worker_init),
beat (beat_init) and the CLI. Beat tasks are reported as Sentry cron monitors. Two layers keep
secrets out: the SDK's EventScrubber blanks values under sensitive keys (password, token, dsn...),
and ``scrub_event`` replaces every known secret value (``Settings.secrets()``: webhook URLs, SMTP
and database passwords, the DSN) wherever it appears, e.g. inside an exception message.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.settings import Settings

log = logging.getLogger(__name__)

FILTERED = "[Filtered]"
#: Keys whose values are blanked wherever they appear, in addition to the SDK's default list.
EXTRA_DENYLIST = [
    "dsn",
    "sentry_dsn",
    "webhook",
    "webhook_url",
    "slack_webhook_url",
    "smtp_url",
    "database_url",
    "broker_url",
    "redis_url",
]
#: Secrets shorter than this are not replaced (they would mangle ordinary text).
MIN_SECRET_LENGTH = 4


def scrub(value: Any, secrets: list[str]) -> Any:
    """``value`` with every occurrence of each secret replaced, walking dicts, lists and tuples."""
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, FILTERED)
        return value
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub(v, secrets) for v in value)
    return value


def event_scrubber(secrets: list[str]) -> Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]:
    ordered = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    def before_send(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
        return scrub(event, ordered)

    return before_send


def release_name(settings: Settings) -> str:
    if settings.sentry_release:
        return settings.sentry_release
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"cnai-monitor@{version('cnai-monitor')}"
    except PackageNotFoundError:
        return "cnai-monitor@unknown"


def init_sentry(settings: Settings, component: str, *, unmonitored_beat_entries: Iterable[str] = ()) -> bool:
    """Start reporting errors to ``SENTRY_DSN`` tagged with ``component``; False (and nothing done) without a DSN.

    Beat entries become Sentry cron monitors, except ``unmonitored_beat_entries`` (Sentry Crons
    only takes whole-minute intervals).
    """
    dsn = settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else ""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    before_send = event_scrubber(settings.secrets())
    sentry_sdk.init(
        dsn=dsn,
        environment=settings.sentry_environment,
        release=release_name(settings),
        traces_sample_rate=settings.sentry_traces_sample_rate,
        event_scrubber=EventScrubber(denylist=DEFAULT_DENYLIST + EXTRA_DENYLIST, recursive=True),
        before_send=before_send,  # type: ignore[arg-type]  # the scrubber reads and returns the event as a plain dict
        before_send_transaction=before_send,  # type: ignore[arg-type]  # as above
        integrations=[
            CeleryIntegration(
                monitor_beat_tasks=True,
                exclude_beat_tasks=[f"^{re.escape(name)}$" for name in unmonitored_beat_entries],
            ),
            SqlalchemyIntegration(),
        ],
    )
    sentry_sdk.set_tag("component", component)
    log.info("sentry: reporting errors (environment %s, component %s)", settings.sentry_environment, component)
    return True


def init_cli_sentry() -> bool:
    """``init_sentry`` for a CLI command, without loading the settings (slow imports) when no DSN is configured."""
    in_env = any(name.upper() == "SENTRY_DSN" and value for name, value in os.environ.items())
    dotenv = Path(".env")
    if not in_env and not (
        dotenv.is_file() and "SENTRY_DSN" in dotenv.read_text(encoding="utf-8", errors="ignore").upper()
    ):
        return False
    from services.settings import get_settings

    return init_sentry(get_settings(), "cli")
