"""Photo processing benchmark: 1,000 photos queued, then bookings, with real workers.

Processes, as in production: an email worker on the default queue, the photo worker
on the `images` queue only (`photo_worker_argv`, PHOTO_PROCESSING_CONCURRENCY
processes), and beat ticking the outbox dispatcher.

- confirmation lag: from a booking's confirmation to its confirmation email being
  sent (the outbox row's `sent_at`), one booking at a time at random beat phases.
  Baseline in the same run, same processes: the photo queue empty. Target: unchanged
  under 1,000 queued photos (median within one dispatcher tick of the baseline's; the
  tail is reported: here the photo processes share the machine's two cores with the
  email worker, in production they run in tasks of their own).
- renditions per second per photo-worker process, over the steady part of the burst.
- peak concurrency: the most photos ever `processing` at once, from each photo's
  processing interval and from live sampling; never above the cap.
"""

from __future__ import annotations

import io
import random
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.db import connections

from bookings.services.stays import booking_create
from config.celery import PHOTO_QUEUE
from config.management.commands.photo_worker import photo_worker_argv
from messaging.models import Kind, ScheduledMessage
from properties.models import Property, PropertyImage, PropertyImageRendition
from properties.photos.demo import SCENES, demo_picture
from properties.photos.services import photo_add
from tests.bench.conftest import report, summarize
from tests.conftest import Tenant
from tests.properties.photos.conftest import temporary_photo_storages
from tests.support.ports import wait_for
from tests.support.workers import Workers

pytestmark = [pytest.mark.bench, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PHOTOS = 1_000
BOOKINGS = 20  # per phase, one at a time
CAP = 2  # photo-worker processes (the machine has two cores)
TICK = 1.0  # dispatcher interval, seconds
WINDOW = 60.0  # seconds of steady processing measured for the rate
State = PropertyImage.State


def broker(workers: Workers) -> Celery:
    """A producer on the workers' private broker (the test process's own app points
    elsewhere)."""
    return Celery(
        "bench-photos",
        set_as_current=False,
        broker=workers.env["REDIS_URL"],
        broker_transport_options={
            "global_keyprefix": f"{workers.env['HOLIDESK_REDIS_PREFIX']}:celery:"
        },
    )


def confirmation_lag(prop: Property, check_in: date, n: int) -> list[float]:
    """Book `n` stays one after the other, each at a random phase of the dispatcher's
    beat; return seconds from confirmation to the confirmation email's sending."""
    lags = []
    for i in range(n):
        time.sleep(random.uniform(0, TICK))
        start = check_in + timedelta(days=3 * i)
        booking = booking_create(
            property=prop,
            check_in=start,
            check_out=start + timedelta(days=2),
            source="direct",
            guest_name=f"Guest {i}",
            guest_email=f"guest{i}-{start:%Y%m%d}@example.com",
        )
        row = ScheduledMessage.objects.filter(booking=booking, kind=Kind.CONFIRMATION)
        assert wait_for(lambda r=row: r.filter(sent_at__isnull=False).exists(), 60)
        sent_at = row.values_list("sent_at", flat=True).get()
        assert booking.confirmed_at is not None
        assert sent_at is not None
        lags.append((sent_at - booking.confirmed_at).total_seconds())
    return lags


class ProcessingSampler(threading.Thread):
    """Counts photos in `processing` every 50 ms (its own database connection)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                count = PropertyImage.objects.filter(state=State.PROCESSING).count()
                self.peak = max(self.peak, count)
                self.samples += 1
                time.sleep(0.05)
        finally:
            connections.close_all()


def peak_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    events = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
        key=lambda e: (e[0], e[1]),  # an end before a start at the same instant
    )
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_photo_burst_leaves_confirmations_alone(
    tenant: Tenant, workers: Workers, tmp_path: Path, settings: Any
) -> None:
    public, private = temporary_photo_storages(tmp_path, settings)
    settings.PHOTO_PROCESSING_CONCURRENCY = CAP
    workers.env.update(
        EMAIL_URL="memory:",
        EMAIL_RATE_PER_SECOND="10",
        MESSAGING_DISPATCH_INTERVAL=str(TICK),
        MEDIA_ROOT=str(public),
        PRIVATE_MEDIA_ROOT=str(private),
        PHOTO_PROCESSING_CONCURRENCY=str(CAP),
    )
    workers.worker(tmp_path, name="email", concurrency=2, loglevel="WARNING")
    workers.start(*photo_worker_argv(loglevel="WARNING"), name="photos", tmp=tmp_path)
    workers.beat(tmp_path)
    prop = tenant.prop
    today = prop.local_today()

    # Warm-up (worker start, first connections), then the baseline: no photo queued.
    confirmation_lag(prop, today + timedelta(days=30), 1)
    baseline = confirmation_lag(prop, today + timedelta(days=60), BOOKINGS)

    # 1,000 photos of a phone-sized JPEG, stored and queued.
    picture = demo_picture(name=prop.name, accent_hex="#0e7490", scene=SCENES[0], seed="bench")
    started = time.perf_counter()
    ids = [
        photo_add(
            business=tenant.business,
            property=prop,
            file=io.BytesIO(picture),
            name=f"photo-{i}.jpg",
            alt_text=f"Photo {i}",
            enqueue=False,
        ).pk
        for i in range(PHOTOS)
    ]
    store_seconds = time.perf_counter() - started
    sampler = ProcessingSampler()
    sampler.start()
    producer = broker(workers)
    for image_id in ids:
        producer.send_task("properties.tasks.process_photo", args=[image_id], queue=PHOTO_QUEUE)
    producer.close()
    ready = PropertyImage.objects.filter(state=State.READY)
    assert wait_for(lambda: ready.count() >= 2, 120), workers.output()

    loaded = confirmation_lag(prop, today + timedelta(days=120), BOOKINGS)
    backlog_after_bookings = PHOTOS - ready.count()

    # The steady rate: renditions written over a fixed window while the queue is full.
    t0, r0 = time.monotonic(), PropertyImageRendition.objects.count()
    time.sleep(WINDOW)
    t1, r1 = time.monotonic(), PropertyImageRendition.objects.count()
    sampler.stop.set()
    sampler.join()
    done = list(ready.values_list("processing_started_at", "processed_at"))
    overlap = peak_overlap([(s, e) for s, e in done if s and e])
    renditions_per_photo = PropertyImageRendition.objects.count() / max(len(done), 1)
    rate = (r1 - r0) / (t1 - t0)
    failed = PropertyImage.objects.filter(state=State.FAILED).count()

    rows = [
        {"case": "no photo queued (baseline)", **summarize(baseline)},
        {"case": f"{PHOTOS:,} photos queued", **summarize(loaded)},
    ]
    extra = {
        "photos": PHOTOS,
        "store_and_queue_seconds": store_seconds,
        "photos_left_when_bookings_done": backlog_after_bookings,
        "cap_processes": CAP,
        "dispatch_interval_s": TICK,
        "renditions_per_photo": renditions_per_photo,
        "renditions_per_second": rate,
        "renditions_per_second_per_process": rate / CAP,
        "photos_per_second": rate / max(renditions_per_photo, 1),
        "peak_processing_from_intervals": overlap,
        "peak_processing_sampled": sampler.peak,
        "samples": sampler.samples,
        "failed": failed,
    }
    report("photos", rows, extra)
    print(
        f"renditions: {rate:.1f}/s with {CAP} processes = {rate / CAP:.1f}/s per process "
        f"({renditions_per_photo:.0f} per photo); peak processing {overlap} "
        f"(sampled {sampler.peak}) against a cap of {CAP}"
    )
    assert failed == 0, workers.output()
    assert backlog_after_bookings > 0, "the queue emptied before the bookings were measured"
    assert overlap <= CAP
    assert sampler.peak <= CAP
    assert rate > 0
    assert summarize(loaded)["median_ms"] <= summarize(baseline)["median_ms"] + TICK * 1000
