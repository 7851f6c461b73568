from django.db import migrations

# An owner's audit page reads one business's entries, newest first
# (properties.audit.audit_entries filters on additional_data -> 'business_id').
CREATE = """
CREATE INDEX IF NOT EXISTS auditlog_logentry_business_time
    ON auditlog_logentry ((additional_data -> 'business_id'), "timestamp" DESC);
"""
DROP = "DROP INDEX IF EXISTS auditlog_logentry_business_time;"


class Migration(migrations.Migration):
    dependencies = [
        ("properties", "0008_invitations"),
        ("auditlog", "0017_add_actor_email"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
