"""Celery configuration: nothing lost, nothing doubled, a slow feed never delays an alert."""
from __future__ import annotations

from kombu import Queue

from services.settings import get_settings
from workers.schedule import beat_schedule

_settings = get_settings()

broker_url = _settings.broker_url
result_backend = None
task_ignore_result = True
task_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

QUEUES = ("poll", "classify", "deliver")
task_queues = [Queue(name) for name in QUEUES]
task_default_queue = "poll"
task_routes = {
    "cnai.poll.*": {"queue": "poll"},
    "cnai.classify.*": {"queue": "classify"},
    "cnai.alerts.*": {"queue": "deliver"},
}

task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
task_soft_time_limit = 50
task_time_limit = 60
broker_transport_options = {"visibility_timeout": 600}
broker_connection_retry_on_startup = True
worker_send_task_events = False

beat_schedule = beat_schedule()
redbeat_redis_url = _settings.broker_url
redbeat_lock_timeout = 150
