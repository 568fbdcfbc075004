"""The Celery app. Configuration lives in workers.celeryconfig; tasks in workers.tasks."""
from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

from services.settings import get_settings

app = Celery("cnai")
app.config_from_object("workers.celeryconfig")
app.autodiscover_tasks(["workers"], related_name="tasks", force=True)


@worker_process_init.connect
def _dispose_engine_after_fork(**_: object) -> None:
    from services.database import dispose_engines

    dispose_engines()


def broker_url() -> str:
    return get_settings().broker_url
