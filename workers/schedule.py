"""The beat schedule, defined in code: dispatch due feeds, sweep due deliveries, prune old logs.

Both tasks only look at the database, so a missed or doubled tick is harmless; a message that
waited longer than one interval is dropped (``expires``), the next tick has sent a fresh one.
Intervals come from DISPATCH_INTERVAL_SECONDS (60), DELIVERY_SWEEP_INTERVAL_SECONDS (15) and
RETENTION_INTERVAL_SECONDS (3600).
"""

from __future__ import annotations

from db.enums import Queue
from services.settings import Settings


def beat_schedule(settings: Settings) -> dict[str, dict]:
    dispatch, sweep = settings.dispatch_interval_s, settings.delivery_sweep_interval_s
    return {
        "dispatch-due-feeds": {
            "task": "cnai.poll.dispatch",
            "schedule": dispatch,
            "options": {"queue": Queue.DISPATCH.value, "expires": dispatch},
        },
        "prune-logs": {
            "task": "cnai.poll.prune",
            "schedule": settings.retention_interval_s,
            "options": {"queue": "poll", "expires": settings.retention_interval_s},
        },
        "deliver-due-alerts": {
            "task": "cnai.alerts.sweep",
            "schedule": sweep,
            "options": {"queue": Queue.DELIVER.value, "expires": sweep},
        },
        "retrain-learned-model": {  # readers' feedback -> a new model, promoted only if P and R hold
            "task": "cnai.classify.retrain",
            "schedule": settings.model_retrain_interval_s,
            "options": {"queue": "classify", "expires": settings.model_retrain_interval_s},
        },
    }
