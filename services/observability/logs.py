"""Logging: text for humans, JSON for production (LOG_FORMAT=json), secrets scrubbed from every record.

Context fields (task id and name, feed, article, alert, delivery) reach each record two ways:
a caller passes them with ``extra={"feed_id": ...}``, or an entry point binds them for a stretch of
work with ``bind_log_context(feed_id=...)`` (the Celery signals bind the task id and name).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import datetime, timezone

from services.settings import Settings

CONTEXT_FIELDS = ("task_id", "task_name", "feed_id", "article_id", "alert_id", "delivery_id")

_log_context: ContextVar[dict[str, object]] = ContextVar("cnai_log_context", default={})  # noqa: B039 -- never mutated: set_log_context stores a new dict


def set_log_context(**fields: object) -> Token[dict[str, object]]:
    """Add ``fields`` to the context of every record logged from here on; undo with ``reset_log_context``."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"not log context fields: {sorted(unknown)}")
    return _log_context.set({**_log_context.get(), **fields})


def reset_log_context(token: Token[dict[str, object]]) -> None:
    _log_context.reset(token)


@contextmanager
def bind_log_context(**fields: object) -> Iterator[None]:
    token = set_log_context(**fields)
    try:
        yield
    finally:
        reset_log_context(token)


def current_log_context() -> dict[str, object]:
    return dict(_log_context.get())


class LogContextFilter(logging.Filter):
    """Copy the bound context onto each record, without overriding what ``extra=`` set."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _log_context.get().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class SecretScrubber(logging.Filter):
    """Replace secret values in the message and in the formatted exception."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted((s for s in secrets if len(s) >= 6), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg, record.args = self.scrub(record.getMessage()), None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self.scrub(record.exc_text)
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        if record.exc_info or record.exc_text:
            data["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]  # exc_info is set whenever exc_text is not
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(settings: Settings, level: int | str | None = None) -> None:
    """One stderr handler on the root logger; ``level`` (e.g. Celery's --loglevel) wins when more verbose."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(LogContextFilter())
    handler.addFilter(SecretScrubber(settings.secrets()))
    if settings.log_format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    wanted = logging.getLevelName(settings.log_level.upper())
    if level is not None:
        requested = logging.getLevelName(level.upper()) if isinstance(level, str) else level
        if isinstance(requested, int):
            wanted = min(wanted, requested)
    root.setLevel(wanted)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
