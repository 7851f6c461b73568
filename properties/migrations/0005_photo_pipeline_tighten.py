"""Photos step 3 of 3: every row has its key; the public image column goes."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("properties", "0004_photo_existing_rows"),
    ]

    operations = [
        migrations.AlterField(
            model_name="propertyimage",
            name="key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.RemoveField(
            model_name="propertyimage",
            name="image",
        ),
        migrations.AddIndex(
            model_name="propertyimage",
            index=models.Index(fields=["state", "updated_at"], name="image_state_updated"),
        ),
        migrations.AddConstraint(
            model_name="propertyimage",
            constraint=models.UniqueConstraint(
                condition=models.Q(("original", ""), _negated=True),
                fields=("original",),
                name="image_unique_original",
            ),
        ),
        migrations.AddConstraint(
            model_name="propertyimage",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("state", "failed"), _negated=True),
                    models.Q(("failure_reason", ""), _negated=True),
                    _connector="OR",
                ),
                name="image_failed_has_reason",
            ),
        ),
    ]
