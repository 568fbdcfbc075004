"""The Celery app `workers.app:app`: configuration in workers.celeryconfig, tasks in workers.tasks,
process set-up (logging, Sentry, metrics, heartbeats) in workers.signals and workers.heartbeat.

    celery -A workers.app worker --queues dispatch,poll,classify --concurrency 2 --loglevel INFO
    celery -A workers.app worker --queues deliver --concurrency 2
    celery -A workers.app beat --scheduler redbeat.RedBeatScheduler
"""

from __future__ import annotations

from celery import Celery

import workers.signals  # noqa: F401  (connects the signal receivers)
from workers.heartbeat import WorkerHeartbeat

app = Celery("cnai", include=["workers.tasks"])
app.config_from_object("workers.celeryconfig")
app.steps["worker"].add(WorkerHeartbeat)
