from __future__ import annotations

from celery import shared_task

from bookings.payments.services.refunds import refunds_retry as refunds_retry_service


# The name predates this module; beat entries and queued messages still carry it.
@shared_task(name="bookings.refunds_retry", ignore_result=True)
def refunds_retry() -> int:
    """Send again refunds left pending by a transient gateway failure."""
    return refunds_retry_service()


@shared_task(name="payments.billing_grace_sweep", ignore_result=True)
def billing_grace_sweep() -> int:
    """Tell owners whose subscription's grace period ended that bookings stopped."""
    from bookings.payments.services.billing import billing_grace_sweep as sweep

    return sweep()


@shared_task(name="payments.billing_quantities_sync", ignore_result=True)
def billing_quantities_sync() -> int:
    """Bill each subscribed business for the properties it has now."""
    from bookings.payments.services.billing import billing_quantities_sync as sync

    return sync()
