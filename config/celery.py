"""The Celery app: broker from settings (CELERY_*), tasks discovered in the apps, a beat schedule.

With no CELERY_BROKER_URL, settings turn on eager mode: tasks run in-process (the embedded
default), so nothing here needs a running broker.
"""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# `celery beat` keeps when each periodic task last ran in a shelve file (celerybeat-schedule.*,
# in the working directory by default): here under the repository's ignored state folder;
# `celery -A config beat -s FILE` puts it elsewhere.
BEAT_SCHEDULE_FILE = Path(__file__).resolve().parent.parent / ".state" / "celerybeat-schedule"

app = Celery("prharvest")
app.conf.beat_schedule_filename = str(BEAT_SCHEDULE_FILE)
# Every CELERY_* Django setting configures Celery (CELERY_BROKER_URL -> broker_url, ...).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_sync(sender: Celery, **_: object) -> None:
    """Run sync_all_repositories_task every SYNC_INTERVAL_SECONDS under `celery beat`."""
    from django.conf import settings

    # beat opens its schedule file before any beat signal: its folder must exist by then.
    Path(sender.conf.beat_schedule_filename).parent.mkdir(parents=True, exist_ok=True)

    sender.add_periodic_task(
        float(settings.SYNC_INTERVAL_SECONDS),
        sender.signature("apps.metrics.tasks.sync_all_repositories_task"),
        name="sync all tracked repositories",
    )
