"""The beat schedule, defined in code: a dispatcher every minute, delivery sweeps every 15 s."""
from __future__ import annotations


def beat_schedule() -> dict[str, dict]:
    return {
        "dispatch-due-feeds": {"task": "cnai.poll.dispatch", "schedule": 60.0, "options": {"queue": "poll", "expires": 55}},
        "deliver-due-alerts": {"task": "cnai.alerts.sweep", "schedule": 15.0, "options": {"queue": "deliver", "expires": 14}},
    }
