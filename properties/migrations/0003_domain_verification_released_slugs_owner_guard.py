# Custom domains route only once verified by DNS; freed slugs are quarantined; a
# business never loses its last owner (a deferred constraint trigger).

import secrets

import django.db.models.deletion
import django.utils.timezone
import properties.models
import properties.validators
from django.db import migrations, models


def fill_domain_tokens(apps, schema_editor):
    # One random token per business (a callable default on AddField would give every
    # existing row the same one).
    Business = apps.get_model("properties", "Business")
    for business in Business.objects.filter(domain_token__isnull=True).only("pk"):
        Business.objects.filter(pk=business.pk).update(
            domain_token="holidesk-verify-" + secrets.token_urlsafe(24)
        )


OWNER_GUARD_SQL = """
CREATE FUNCTION properties_membership_keeps_an_owner() RETURNS trigger AS $$
BEGIN
    IF OLD.role = 'owner'
       AND EXISTS (SELECT 1 FROM properties_business WHERE id = OLD.business_id)
       AND NOT EXISTS (
           SELECT 1 FROM properties_membership
           WHERE business_id = OLD.business_id AND role = 'owner'
       )
    THEN
        RAISE EXCEPTION 'business % would be left without an owner', OLD.business_id
            USING ERRCODE = '23514', CONSTRAINT = 'membership_keeps_an_owner';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Deferred to commit: a transfer (promote one, demote another) may pass through a
-- moment without an owner, and deleting a business removes its memberships first.
CREATE CONSTRAINT TRIGGER membership_keeps_an_owner
    AFTER UPDATE OF role, business_id OR DELETE ON properties_membership
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION properties_membership_keeps_an_owner();
"""

OWNER_GUARD_REVERSE_SQL = """
DROP TRIGGER IF EXISTS membership_keeps_an_owner ON properties_membership;
DROP FUNCTION IF EXISTS properties_membership_keeps_an_owner();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('properties', '0002_seasonal_rates'),
    ]

    operations = [
        migrations.AddField(
            model_name='business',
            name='domain_token',
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(fill_domain_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='business',
            name='domain_token',
            field=models.CharField(default=properties.models.new_domain_token, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='business',
            name='domain_verified_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='business',
            name='domain_checked_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name='business',
            name='custom_domain',
            field=models.CharField(blank=True, help_text='Optional, e.g. www.seaside-cottages.com. It serves your site once its DNS proves it is yours (see the TXT record shown after saving).', max_length=253, null=True, validators=[properties.validators.validate_domain]),
        ),
        migrations.AddConstraint(
            model_name='business',
            constraint=models.UniqueConstraint(condition=models.Q(('domain_verified_at__isnull', False)), fields=('custom_domain',), name='business_verified_domain_unique'),
        ),
        migrations.CreateModel(
            name='ReleasedSlug',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.CharField(max_length=63, unique=True)),
                ('released_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('business', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='properties.business')),
            ],
        ),
        migrations.RunSQL(OWNER_GUARD_SQL, OWNER_GUARD_REVERSE_SQL),
    ]
