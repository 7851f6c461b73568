from django.db import migrations, models


def groups_from_group(apps, schema_editor):
    """A member limited to one group keeps it as their only group; a manager limited to
    a group was meant to be a group manager (the limit was never enforced before)."""
    Membership = apps.get_model("properties", "Membership")
    for membership in Membership.objects.exclude(group=None).iterator():
        membership.groups.add(membership.group_id)
        if membership.role == "manager":
            membership.role = "group_manager"
            membership.save(update_fields=["role"])


def group_from_groups(apps, schema_editor):
    Membership = apps.get_model("properties", "Membership")
    for membership in Membership.objects.prefetch_related("groups").iterator(chunk_size=500):
        first = min((g.pk for g in membership.groups.all()), default=None)
        if first is not None:
            membership.group_id = first
            if membership.role in ("group_manager", "front_desk"):
                membership.role = "manager"
            membership.save(update_fields=["group", "role"])


# The owner guard's trigger watches `role`; PostgreSQL will not widen a column a
# trigger names, so it is dropped around the change and recreated as it was.
DROP_GUARD = "DROP TRIGGER IF EXISTS membership_keeps_an_owner ON properties_membership;"
CREATE_GUARD = """
CREATE CONSTRAINT TRIGGER membership_keeps_an_owner
    AFTER UPDATE OF role, business_id OR DELETE ON properties_membership
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION properties_membership_keeps_an_owner();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("properties", "0006_domains_and_photos"),
    ]

    operations = [
        migrations.RunSQL(DROP_GUARD, CREATE_GUARD),
        migrations.AlterField(
            model_name="membership",
            name="role",
            field=models.CharField(
                choices=[
                    ("owner", "Owner"),
                    ("manager", "Manager"),
                    ("group_manager", "Group manager"),
                    ("front_desk", "Front desk"),
                    ("viewer", "Viewer"),
                    ("staff", "Staff"),
                ],
                default="owner",
                max_length=20,
            ),
        ),
        migrations.RunSQL(CREATE_GUARD, DROP_GUARD),
        migrations.AddField(
            model_name="membership",
            name="groups",
            field=models.ManyToManyField(
                blank=True,
                help_text=(
                    "The property groups (for example hotels) a group manager or front desk "
                    "member works in; they see nothing outside them."
                ),
                related_name="memberships",
                to="properties.propertygroup",
            ),
        ),
        migrations.RunPython(groups_from_group, group_from_groups),
        migrations.RemoveField(model_name="membership", name="group"),
    ]
