"""Payments become an app of their own (label `payments`), taking over the models that
the `bookings` app created in its migrations 0003-0005.

State only: the tables keep their names (`Meta.db_table`), columns, constraints and
indexes, so nothing in the database changes. `bookings` 0006 removes the models from
its state first; this migration adds them to this app's state. The content types move
along, so admin history and permissions stay attached (a fresh database has none yet).
"""

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models


MODELS = ("payment", "refund", "stripeaccount", "stripeevent")


def _move_content_types(apps, schema_editor, source, target):
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_types = ContentType.objects.using(schema_editor.connection.alias)
    for model in MODELS:
        if not content_types.filter(app_label=target, model=model).exists():
            content_types.filter(app_label=source, model=model).update(app_label=target)


def content_types_to_payments(apps, schema_editor):
    _move_content_types(apps, schema_editor, "bookings", "payments")


def content_types_to_bookings(apps, schema_editor):
    _move_content_types(apps, schema_editor, "payments", "bookings")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('bookings', '0006_payments_move_to_their_own_app'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('properties', '0002_seasonal_rates'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Payment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('stay', 'New stay'), ('extension', 'Extra nights')], default='stay', max_length=10)),
                        ('gateway', models.CharField(max_length=10)),
                        ('status', models.CharField(choices=[('pending', 'Awaiting payment'), ('succeeded', 'Paid'), ('failed', 'Declined'), ('expired', 'Checkout expired'), ('review', 'Needs review')], default='pending', max_length=10)),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=12, validators=[django.core.validators.MinValueValidator(Decimal('0'))])),
                        ('currency', models.CharField(max_length=3)),
                        ('amount_minor', models.BigIntegerField(help_text="The amount in the currency's minor units.")),
                        ('checkout_id', models.CharField(blank=True, max_length=255)),
                        ('checkout_url', models.CharField(blank=True, max_length=2000)),
                        ('payment_intent_id', models.CharField(blank=True, max_length=255)),
                        ('connected_account', models.CharField(blank=True, max_length=64)),
                        ('new_check_in', models.DateField(blank=True, null=True)),
                        ('new_check_out', models.DateField(blank=True, null=True)),
                        ('from_check_in', models.DateField(blank=True, null=True)),
                        ('from_check_out', models.DateField(blank=True, null=True)),
                        ('outcome', models.CharField(blank=True, max_length=200)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('paid_at', models.DateTimeField(blank=True, null=True)),
                        ('booking', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='bookings.booking')),
                        ('business', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='payments', to='properties.business')),
                        ('holds', models.ManyToManyField(blank=True, related_name='extension_payments', to='bookings.booking')),
                    ],
                    options={
                        'db_table': 'bookings_payment',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Refund',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=12, validators=[django.core.validators.MinValueValidator(Decimal('0'))])),
                        ('currency', models.CharField(max_length=3)),
                        ('reason', models.CharField(choices=[('cancellation', 'Cancelled under the policy'), ('dates_taken', 'Dates were taken before the payment arrived'), ('booking_closed', 'Booking was no longer open for payment'), ('at_gateway', 'Refunded at the payment provider'), ('dates_changed', "Stay's dates changed before the extension was paid")], max_length=20)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('succeeded', 'Refunded'), ('failed', 'Failed: retry from the payment provider')], default='pending', max_length=10)),
                        ('gateway_refund_id', models.CharField(blank=True, max_length=255)),
                        ('error', models.CharField(blank=True, max_length=300)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('last_error', models.CharField(blank=True, max_length=300)),
                        ('last_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('booking', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='refunds', to='bookings.booking')),
                        ('business', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='refunds', to='properties.business')),
                        ('payment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='refunds', to='payments.payment')),
                    ],
                    options={
                        'db_table': 'bookings_refund',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='StripeAccount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('account_id', models.CharField(help_text="The business's Stripe account id, e.g. acct_1Abc... (Stripe Connect).", max_length=64, unique=True, verbose_name='connected account id')),
                        ('charges_enabled', models.BooleanField(default=True, help_text='Off stops new checkouts (refunds still go through).')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('business', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='stripe_account', to='properties.business')),
                    ],
                    options={
                        'db_table': 'bookings_stripeaccount',
                    },
                ),
                migrations.CreateModel(
                    name='StripeEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event_id', models.CharField(max_length=255, unique=True)),
                        ('type', models.CharField(max_length=100)),
                        ('account', models.CharField(blank=True, max_length=64)),
                        ('outcome', models.CharField(blank=True, max_length=300)),
                        ('received_at', models.DateTimeField(auto_now_add=True)),
                        ('business', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='properties.business')),
                    ],
                    options={
                        'db_table': 'bookings_stripeevent',
                        'ordering': ['-received_at'],
                    },
                ),
                migrations.AddIndex(
                    model_name='payment',
                    index=models.Index(fields=['payment_intent_id'], name='payment_intent_idx'),
                ),
                migrations.AddConstraint(
                    model_name='payment',
                    constraint=models.UniqueConstraint(condition=models.Q(('checkout_id', ''), _negated=True), fields=('gateway', 'checkout_id'), name='payment_unique_checkout'),
                ),
                migrations.AddConstraint(
                    model_name='payment',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gte', 0), ('amount_minor__gte', 0)), name='payment_amount_gte_0'),
                ),
                migrations.AddConstraint(
                    model_name='payment',
                    constraint=models.CheckConstraint(condition=models.Q(('kind', 'stay'), models.Q(('new_check_in__isnull', False), ('new_check_out__gt', models.F('new_check_in'))), _connector='OR'), name='payment_extension_has_dates'),
                ),
                migrations.AddConstraint(
                    model_name='refund',
                    constraint=models.UniqueConstraint(condition=models.Q(('gateway_refund_id', ''), _negated=True), fields=('gateway_refund_id',), name='refund_unique_gateway_id'),
                ),
                migrations.AddConstraint(
                    model_name='refund',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='refund_amount_gt_0'),
                ),
                migrations.AddConstraint(
                    model_name='stripeaccount',
                    constraint=models.CheckConstraint(condition=models.Q(('account_id__startswith', 'acct_')), name='stripe_account_id_format'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_payments, content_types_to_bookings),
    ]
