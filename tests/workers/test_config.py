"""The Celery configuration: every task and beat entry on a declared queue, limits in a safe order."""

from __future__ import annotations

import re

import pytest
from celery.schedules import schedule as interval_schedule

from services.settings import SettingsError, get_settings
from workers import celeryconfig
from workers.app import app
from workers.celeryconfig import QUEUES, check_time_limits
from workers.schedule import beat_schedule

TASK_NAME = re.compile(r"^cnai\.[a-z]+\.[a-z_]+$")


@pytest.fixture(scope="module")
def cnai_tasks() -> dict:
    app.loader.import_default_modules()
    tasks = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert tasks, "no task registered"
    return tasks


def test_every_task_has_an_explicit_name_and_a_declared_queue_its_route_agrees_with(cnai_tasks: dict) -> None:
    for name, task in cnai_tasks.items():
        assert TASK_NAME.match(name), f"{name}: tasks are named cnai.<domain>.<verb>"
        declared = getattr(task, "declared_queue", None)
        assert declared in QUEUES, f"{name}: queue {declared!r} is not declared (use workers.tasks.cnai_task)"
        routed = app.amqp.router.route({}, name, (), {}, task)["queue"].name
        assert routed == declared, f"{name}: routed to {routed!r}, declared {declared!r}"
        assert task.ignore_result


def test_the_poll_the_delivery_and_the_dispatch_tasks_exist(cnai_tasks: dict) -> None:
    assert {"cnai.poll.dispatch", "cnai.poll.feed", "cnai.alerts.sweep"} <= set(cnai_tasks)
    assert cnai_tasks["cnai.alerts.sweep"].declared_queue == "deliver"
    assert cnai_tasks["cnai.poll.feed"].declared_queue == "poll"
    assert cnai_tasks["cnai.poll.dispatch"].declared_queue == "dispatch", "a poll backlog must not expire the dispatch"


def test_a_task_on_an_undeclared_or_wrong_queue_is_refused() -> None:
    from workers.tasks import cnai_task

    with pytest.raises(ValueError, match="not declared"):
        cnai_task("cnai.poll.feed_again", queue="slow")
    with pytest.raises(ValueError, match="does not match"):
        cnai_task("cnai.alerts.resend", queue="poll")


def test_every_queue_is_declared_to_the_broker() -> None:
    assert [q.name for q in app.conf.task_queues] == list(QUEUES)
    assert app.conf.task_create_missing_queues is False


def test_beat_entries_name_registered_tasks_on_their_queue_and_expire_within_one_interval(cnai_tasks: dict) -> None:
    entries = app.conf.beat_schedule
    assert entries
    for name, entry in entries.items():
        task = cnai_tasks.get(entry["task"])
        assert task is not None, f"beat entry {name}: task {entry['task']} is not registered"
        options = entry.get("options", {})
        assert options.get("queue") == task.declared_queue, f"beat entry {name}: queue {options.get('queue')!r}"
        seconds = entry["schedule"] if isinstance(entry["schedule"], (int, float)) else entry["schedule"].seconds
        assert 0 < options["expires"] <= seconds, f"beat entry {name}: a stale message must expire before the next one"
        interval_schedule(seconds)  # a valid Celery schedule


def test_beat_intervals_come_from_the_settings(env: pytest.MonkeyPatch) -> None:
    env.setenv("DISPATCH_INTERVAL_SECONDS", "7")
    env.setenv("DELIVERY_SWEEP_INTERVAL_SECONDS", "3")
    entries = beat_schedule(get_settings())
    assert entries["dispatch-due-feeds"]["schedule"] == 7
    assert entries["deliver-due-alerts"]["schedule"] == 3


def test_messages_are_acknowledged_late_and_fetched_one_at_a_time() -> None:
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1 and conf.worker_disable_prefetch


def test_soft_limit_below_hard_limit_below_the_visibility_timeout() -> None:
    conf = app.conf
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert conf.task_soft_time_limit < conf.task_time_limit < visibility
    settings = get_settings()
    assert settings.alert_sweep_budget_s < conf.task_soft_time_limit
    assert conf.task_time_limit < settings.poll_lease_s <= visibility
    assert conf.task_time_limit < settings.alert_claim_s
    assert conf.broker_transport_options["unacked_restore_interval"] < visibility


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"TASK_SOFT_TIME_LIMIT_SECONDS": "150", "TASK_TIME_LIMIT_SECONDS": "150"}, "TASK_SOFT_TIME_LIMIT_SECONDS"),
        ({"TASK_TIME_LIMIT_SECONDS": "400"}, "POLL_LEASE_SECONDS"),
        ({"BROKER_VISIBILITY_TIMEOUT_SECONDS": "200"}, "BROKER_VISIBILITY_TIMEOUT_SECONDS"),
        ({"ALERT_SWEEP_SECONDS": "130"}, "ALERT_SWEEP_SECONDS"),
        ({"ALERT_CLAIM_SECONDS": "100"}, "ALERT_CLAIM_SECONDS"),
    ],
)
def test_an_unsafe_order_of_limits_stops_start_up_naming_the_variable(
    env: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    for name, value in variables.items():
        env.setenv(name, value)
    with pytest.raises(SettingsError, match=named):
        check_time_limits(get_settings())


def test_the_default_limits_pass_the_check(env: pytest.MonkeyPatch) -> None:
    check_time_limits(get_settings())


def test_kombu_looks_for_messages_of_dead_workers_well_within_the_visibility_timeout() -> None:
    options = celeryconfig.broker_transport_options
    assert options["unacked_restore_throttle"] == 1
    assert (
        options["unacked_restore_interval"] <= options["visibility_timeout"] / 10
        or options["unacked_restore_interval"] == 1
    )


def test_redbeat_holds_a_lock_it_renews_more_often_than_it_expires() -> None:
    conf = app.conf
    assert conf.redbeat_lock_timeout >= 3 * conf.beat_max_loop_interval
    assert conf.redbeat_redis_url == conf.broker_url
