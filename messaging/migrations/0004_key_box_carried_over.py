"""Codes in effect before confirmations existed were assumed to be on the box: they are
carried over as confirmed (source "carried over"), the newest of each property on the
box, so guests keep being sent what they were sent and the history of the last four
stays as it was."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import migrations
from django.utils import timezone


def carry_over(apps, schema_editor):
    KeyCode = apps.get_model("messaging", "KeyCode")
    KeyBox = apps.get_model("messaging", "KeyBox")
    KeyCodeConfirmation = apps.get_model("messaging", "KeyCodeConfirmation")
    Property = apps.get_model("properties", "Property")
    now = timezone.now()
    properties = Property.objects.filter(key_codes__isnull=False).select_related("business")
    for prop in properties.distinct().iterator():
        tz = ZoneInfo(prop.timezone or prop.business.timezone)
        today = now.astimezone(tz).date()
        in_effect = list(
            KeyCode.objects.filter(
                property=prop, retired_at__isnull=True, valid_from__lte=today
            ).order_by("valid_from", "id")
        )
        for code in in_effect:
            at = min(datetime.combine(code.valid_from, prop.check_out_time, tzinfo=tz), now)
            code.confirmed_at = at
            code.save(update_fields=["confirmed_at"])
            KeyCodeConfirmation.objects.create(
                business_id=prop.business_id,
                property=prop,
                key_code=code,
                turnover_id=code.turnover_id,
                source="carried_over",
                confirmed_at=at,
            )
        if in_effect:
            newest = in_effect[-1]
            KeyBox.objects.create(
                business_id=prop.business_id,
                property=prop,
                key_code=newest,
                since=newest.confirmed_at,
            )


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_key_box_confirmations"),
    ]

    operations = [migrations.RunPython(carry_over, migrations.RunPython.noop)]
