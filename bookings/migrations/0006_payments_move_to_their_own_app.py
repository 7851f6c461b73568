"""Payment, Refund, StripeAccount and StripeEvent move to the `payments` app
(bookings/payments/). State only: their tables stay where they are, and `payments` 0001
takes them over under the same names."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('bookings', '0005_extension_holds'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='refund',
                    name='payment',
                ),
                migrations.RemoveField(
                    model_name='refund',
                    name='booking',
                ),
                migrations.RemoveField(
                    model_name='refund',
                    name='business',
                ),
                migrations.RemoveField(
                    model_name='stripeaccount',
                    name='business',
                ),
                migrations.RemoveField(
                    model_name='stripeevent',
                    name='business',
                ),
                migrations.DeleteModel(
                    name='Payment',
                ),
                migrations.DeleteModel(
                    name='Refund',
                ),
                migrations.DeleteModel(
                    name='StripeAccount',
                ),
                migrations.DeleteModel(
                    name='StripeEvent',
                ),
            ],
            database_operations=[],
        ),
    ]
