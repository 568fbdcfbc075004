"""Celery configuration: nothing lost, nothing doubled, a slow feed never delays an alert.

Delivery guarantees on a Redis broker:
- A message is acknowledged only after its task has run (``task_acks_late``); a worker that dies
  mid-task leaves it in Redis's ``unacked`` set, and it is redelivered once the visibility timeout
  has passed (``task_reject_on_worker_lost`` also requeues it when only a pool process dies).
- So the visibility timeout must exceed the longest a message can stay unacknowledged while its
  task is alive: the hard time limit (workers fetch a message only when a process is free, so no
  prefetched message waits behind a running task). No task uses an ETA or countdown: delivery
  retries are scheduled in the database (``deliveries.next_attempt_at``) and swept, not delayed
  in Redis, where a delay longer than the visibility timeout would be redelivered early.
- A feed poll holds a database lease for ``POLL_LEASE_SECONDS``, longer than the hard time limit,
  so a live poll is never polled twice. When a worker dies mid-poll nothing was committed; the
  lease runs out, the feed is still due, and the next dispatch queues it again. The dead worker's
  own message comes back after the visibility timeout (at least the lease) and finds the feed
  polled already, or has expired: either way it does nothing.
- Every task is idempotent (a poll claims a feed that is due; feed entries are unique per feed;
  a delivery is claimed in the database before it is sent) because a message can still be
  delivered twice, e.g. when its acknowledgement is lost in a broker outage.

Routing: one queue per kind of work (``dispatch``, ``poll``, ``classify``, ``deliver``) and separate
worker deployments, so a slow feed never delays an alert (docs/architecture.md, "Queues and routing").
``dispatch`` has a queue of its own: behind a backlog of polls on ``poll`` it would expire unrun
(its ``expires`` is one dispatch interval); on its own list a worker takes it within seconds, because
kombu's Redis transport rotates the order in which it pops a worker's queues.

Memory: a prefork pool process is replaced once it exceeds ``worker_max_memory_per_child``
(WORKER_MAX_MEMORY_PER_CHILD_KB, 350 MiB), so concurrency x that + the main process stays below the
container's memory limit (tests/deploy checks it against the manifests).
"""

from __future__ import annotations

import warnings

from celery.exceptions import CPendingDeprecationWarning
from kombu import Queue

from db.enums import Queue as QueueName
from services.settings import Settings, SettingsError, get_settings
from workers.schedule import beat_schedule as _beat_schedule

QUEUES = tuple(queue.value for queue in QueueName)
#: Task name prefix -> queue, first match wins. Every task is named ``cnai.<domain>.<verb>``.
ROUTES = {
    "cnai.poll.dispatch": QueueName.DISPATCH,
    "cnai.poll.": QueueName.POLL,
    "cnai.classify.": QueueName.CLASSIFY,
    "cnai.alerts.": QueueName.DELIVER,
}


def check_time_limits(settings: Settings) -> None:
    """Stop at start-up unless: delivery sweep budget < soft limit < hard limit < poll lease <= visibility
    timeout, and hard limit < delivery claim (a live sender's claim is never taken for abandoned)."""
    order = [
        ("ALERT_SWEEP_SECONDS", settings.alert_sweep_budget_s),
        ("TASK_SOFT_TIME_LIMIT_SECONDS", settings.task_soft_time_limit_s),
        ("TASK_TIME_LIMIT_SECONDS", settings.task_time_limit_s),
        ("POLL_LEASE_SECONDS", settings.poll_lease_s),
    ]
    for (lower_name, lower), (upper_name, upper) in zip(order, order[1:]):
        if not lower < upper:
            raise SettingsError(f"{lower_name} ({lower}) must be less than {upper_name} ({upper})")
    if not settings.poll_lease_s <= settings.broker_visibility_timeout_s:
        raise SettingsError(
            f"POLL_LEASE_SECONDS ({settings.poll_lease_s}) must not exceed "
            f"BROKER_VISIBILITY_TIMEOUT_SECONDS ({settings.broker_visibility_timeout_s})"
        )
    if not settings.task_time_limit_s < settings.alert_claim_s:
        raise SettingsError(
            f"TASK_TIME_LIMIT_SECONDS ({settings.task_time_limit_s}) must be less than "
            f"ALERT_CLAIM_SECONDS ({settings.alert_claim_s})"
        )


_settings = get_settings()
check_time_limits(_settings)

broker_url = _settings.broker_url
broker_connection_retry_on_startup = True
broker_connection_max_retries = None
broker_transport_options = {
    "visibility_timeout": _settings.broker_visibility_timeout_s,
    # Look for messages of dead workers every few seconds (kombu's default sweep is every ~100 s).
    "unacked_restore_interval": max(1, min(10, _settings.broker_visibility_timeout_s // 10)),
    "unacked_restore_throttle": 1,
}
task_publish_retry_policy = {"max_retries": 6, "interval_start": 0, "interval_step": 0.5, "interval_max": 2}

result_backend = None
result_expires = None  # no results stored, so no celery.backend_cleanup beat entry
task_ignore_result = True
task_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

task_queues = [Queue(name, routing_key=name) for name in QUEUES]
task_default_queue = QueueName.POLL.value
task_create_missing_queues = False
#: Exact names before globs: Celery's map router looks up an exact name first, then the patterns in order.
task_routes = {
    (prefix if not prefix.endswith(".") else f"{prefix}*"): {"queue": queue} for prefix, queue in ROUTES.items()
}

task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
worker_disable_prefetch = True
task_soft_time_limit = _settings.task_soft_time_limit_s
task_time_limit = _settings.task_time_limit_s
#: On a broker outage running tasks finish (their late ack is lost, so the message comes back after the
#: visibility timeout and finds nothing left to do) rather than being killed halfway through a send.
worker_cancel_long_running_tasks_on_connection_loss = False
warnings.filterwarnings(
    "ignore", message="(?s).*worker_cancel_long_running_tasks_on_connection_loss", category=CPendingDeprecationWarning
)
worker_send_task_events = False
worker_max_memory_per_child = _settings.worker_max_memory_per_child_kb
worker_redirect_stdouts_level = "INFO"

beat_schedule = _beat_schedule(_settings)
#: Beat wakes (renews its RedBeat lock, writes its heartbeat) at least this often.
beat_max_loop_interval = min(10.0, _settings.dispatch_interval_s, _settings.delivery_sweep_interval_s)
redbeat_redis_url = _settings.broker_url
redbeat_redis_options = {"socket_timeout": 10, "socket_connect_timeout": 5, "health_check_interval": 30}
redbeat_key_prefix = "cnai:redbeat:"
#: Only the beat holding this lock sends tasks. A beat that dies without releasing it (kill -9, a lost
#: node) blocks its successor for at most this long: 5 renewals missed in a row.
redbeat_lock_timeout = max(2, int(5 * beat_max_loop_interval))
