"""`manage.py photo_worker`: the Celery worker of the `images` queue.

Photo processing runs only here, with PHOTO_PROCESSING_CONCURRENCY processes, so the
setting caps how many photos this worker decodes at once (memory: about 4 bytes per
pixel of the largest accepted photo, per process), and the other workers, which never
consume this queue, stay free for email and partner pushes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from config.celery import PHOTO_QUEUE, app

# A process is replaced after this many photos: decoding large images fragments memory.
MAX_TASKS_PER_CHILD = 50


def photo_worker_argv(*, loglevel: str = "INFO") -> list[str]:
    return [
        "worker",
        f"--queues={PHOTO_QUEUE}",
        f"--concurrency={settings.PHOTO_PROCESSING_CONCURRENCY}",
        f"--max-tasks-per-child={MAX_TASKS_PER_CHILD}",
        "--hostname=images@%h",
        f"--loglevel={loglevel}",
    ]


class Command(BaseCommand):
    help = "Run the Celery worker that processes photos (the `images` queue only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args: Any, **options: Any) -> None:
        app.worker_main(photo_worker_argv(loglevel=options["loglevel"]))
