"""The Celery app: broker from settings (CELERY_*), tasks discovered in the apps, a beat schedule.

With no CELERY_BROKER_URL, settings turn on eager mode: tasks run in-process (the embedded
default), so nothing here needs a running broker.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("prharvest")
# Every CELERY_* Django setting configures Celery (CELERY_BROKER_URL -> broker_url, ...).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_sync(sender: Celery, **_: object) -> None:
    """Run sync_all_repositories_task every SYNC_INTERVAL_SECONDS under `celery beat`."""
    from django.conf import settings

    sender.add_periodic_task(
        float(settings.SYNC_INTERVAL_SECONDS),
        sender.signature("apps.metrics.tasks.sync_all_repositories_task"),
        name="sync all tracked repositories",
    )
