"""Photos step 2 of 3: existing rows keep their file as the original and wait to be
processed (the periodic sweep enqueues them; the first run moves a public legacy file
into the private originals storage). A row without a file is failed, with the reason.
Alt text starts as the caption, or the property's name, which is what the pages used
as alt text until now, so no photo disappears from a site for want of it."""

import uuid

from django.db import migrations


def fill(apps, schema_editor):
    PropertyImage = apps.get_model("properties", "PropertyImage")
    for image in PropertyImage.objects.select_related("property").iterator():
        image.key = uuid.uuid4()
        image.original = image.image.name if image.image else ""
        image.alt_text = (image.caption or image.property.name)[:250]
        if image.original:
            image.state = "uploaded"
        else:
            image.state = "failed"
            image.failure_reason = "The photo has no file; upload it again."
        image.save(update_fields=["key", "original", "alt_text", "state", "failure_reason"])


class Migration(migrations.Migration):
    dependencies = [
        ("properties", "0003_photo_pipeline"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
