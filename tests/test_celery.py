from __future__ import annotations

from config.celery import app


def test_every_periodic_task_in_the_schedule_is_a_registered_task() -> None:
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert "bookings.expire-holds" in schedule
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, f"{name}: {entry['task']} is not a registered task"


def test_tasks_are_json_only_and_acknowledged_late() -> None:
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_time_limit
