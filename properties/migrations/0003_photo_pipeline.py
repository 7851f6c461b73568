"""Photos get a private original, a processing state and renditions (step 1 of 3:
new columns, nullable where existing rows need filling)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("properties", "0002_seasonal_rates"),
    ]

    operations = [
        migrations.AddField(
            model_name="propertyimage",
            name="key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="propertyimage",
            name="original",
            field=models.CharField(blank=True, editable=False, max_length=255),
        ),
        migrations.AddField(
            model_name="propertyimage",
            name="original_bytes",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="propertyimage",
            name="original_format",
            field=models.CharField(blank=True, editable=False, max_length=10),
        ),
        migrations.AddField(
            model_name="propertyimage",
            name="alt_text",
            field=models.CharField(
                blank=True,
                help_text="What the photo shows, for visitors who cannot see it. "
                "Required before the photo is shown on the site.",
                max_length=250,
            ),
        ),
        migrations.AddField(
            model_name="propertyimage",
            name="state",
            field=models.CharField(
                choices=[
                    ("uploaded", "Uploaded, waiting to be processed"),
                    ("processing", "Processing"),
                    ("ready", "Ready"),
                    ("failed", "Failed"),
                ],
                default="uploaded",
                editable=False,
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="propertyimage",
            name="failure_reason",
            field=models.CharField(blank=True, editable=False, max_length=300),
        ),
        migrations.AddField(
            model_name="propertyimage",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="propertyimage",
            name="processing_started_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="propertyimage",
            name="processed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="propertyimage",
            name="claimed_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="propertyimage",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="propertyimage",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.CreateModel(
            name="PropertyImageRendition",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("width", models.PositiveIntegerField()),
                ("height", models.PositiveIntegerField()),
                (
                    "format",
                    models.CharField(choices=[("webp", "WebP"), ("jpeg", "JPEG")], max_length=4),
                ),
                ("path", models.CharField(max_length=255)),
                ("bytes", models.PositiveIntegerField()),
                (
                    "business",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="properties.business",
                    ),
                ),
                (
                    "image",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="renditions",
                        to="properties.propertyimage",
                    ),
                ),
            ],
            options={
                "ordering": ["image", "format", "width"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("image", "width", "format"), name="rendition_unique_size_format"
                    )
                ],
            },
        ),
    ]
