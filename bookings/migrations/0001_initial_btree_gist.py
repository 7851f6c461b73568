from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations


class Migration(migrations.Migration):
    """btree_gist lets one GiST index combine `property =` with `stay &&`, which the
    no-overlap exclusion constraint needs. It must exist before that constraint."""

    initial = True
    dependencies = []
    operations = [BtreeGistExtension()]
