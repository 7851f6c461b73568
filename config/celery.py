"""The Celery app. Periodic schedules live here, in code, not in a database.

Tasks carry only work that is due now: anything scheduled for later is a row in
PostgreSQL (the message outbox, the partner push outbox), so flushing Redis or losing
a worker loses nothing.
"""

from __future__ import annotations

import os

from celery import Celery

# Request ids into and out of tasks, one log line per task (connects signals).
from config import task_signals  # noqa: F401

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("holidesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Queues by urgency: a burst on one never delays another. Photo processing is slow and
# comes in bursts (an owner uploads 40 photos), so it has its own queue, consumed only
# by the photo worker (`manage.py photo_worker`, PHOTO_PROCESSING_CONCURRENCY
# processes); the other workers consume the default queue and never see it.
PHOTO_QUEUE = "images"
app.conf.task_routes = {
    "properties.tasks.process_photo": {"queue": PHOTO_QUEUE},
}


@app.on_after_configure.connect
def _install_beat_schedule(sender: Celery, **kwargs: object) -> None:
    # Each app lists its periodic tasks in <app>/beat.py; the whole schedule is their
    # union. Imported once Django's settings are configured, as the schedules read them.
    from bookings.beat import BEAT_SCHEDULE as BOOKINGS_BEAT
    from bookings.payments.beat import BEAT_SCHEDULE as PAYMENTS_BEAT
    from integrations.beat import BEAT_SCHEDULE as INTEGRATIONS_BEAT
    from messaging.beat import BEAT_SCHEDULE as MESSAGING_BEAT
    from properties.beat import BEAT_SCHEDULE as PROPERTIES_BEAT

    sender.conf.beat_schedule = {
        **PROPERTIES_BEAT,
        **BOOKINGS_BEAT,
        **PAYMENTS_BEAT,
        **MESSAGING_BEAT,
        **INTEGRATIONS_BEAT,
    }
