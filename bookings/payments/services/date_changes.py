"""The owner moves, shortens or extends a confirmed stay, and settles the price
difference.

`date_change_quote` is the preview: whether the nights are free, the new total, the
difference, and what it means for the money already paid. `booking_dates_change`
makes the change (through `bookings.services.stays.booking_change_dates`, so the
property lock, the rules of dates and the exclusion constraint guard it exactly as
every other move) and settles it in the same transaction:

- a higher price is an amount due on the booking (its total rises, its paid amount does
  not): the owner collects it and records it with `payment_record_offline`;
- a lower price, when the guest had paid more than the new total, can be refunded at
  once through the gateway (`refunds.refunds_plan`, the cancellation's path); left
  unrefunded, it stays as an overpayment the owner can refund later from the booking.

Only the owner's change is settled here; a guest's extension is paid before it applies
(`extensions`). A guest's extension checkout still open is voided by the owner's
change: should it be paid anyway, `checkout.payment_apply` refunds it (its dates are
stale).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from bookings.errors import InvalidDates, InvalidTransition, PriceChanged, StayUnavailable
from bookings.models import Booking
from bookings.payments.models import Payment, Refund
from bookings.payments.services.checkout import REPLACED_EXTENSION
from bookings.payments.services.refunds import refunds_execute, refunds_plan
from bookings.pricing import Quote, quote
from bookings.rules import owner_may_change_check, stay_dates_check
from bookings.services.holds import extension_holds_release
from bookings.services.stays import booking_change_dates
from bookings.services.writes import calendar_write
from properties.money import format_money


@dataclass(frozen=True)
class DateChangeQuote:
    booking: Booking
    check_in: date
    check_out: date
    quote: Quote
    # New total less the current one: positive, the stay costs more.
    difference: Decimal
    # What the guest has paid, net of refunds.
    paid: Decimal
    # After the change: still to pay, or paid beyond the new total (one of them is 0).
    due: Decimal
    overpaid: Decimal

    @property
    def total(self) -> Decimal:
        return self.quote.total


@dataclass
class DateChange:
    booking: Booking
    difference: Decimal
    refunds: list[Refund] = field(default_factory=list)

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds if r.status != Refund.Status.FAILED), Decimal(0))

    @property
    def refused(self) -> list[Refund]:
        return [r for r in self.refunds if r.status == Refund.Status.FAILED]


def _changeable_check(booking: Booking) -> None:
    owner_may_change_check(booking)
    if booking.status != Booking.Status.CONFIRMED or booking.is_block:
        raise InvalidTransition(
            f"Only a confirmed stay can change dates ({booking.reference} is "
            f"{booking.get_status_display().lower()})."
        )


def _other_dates_check(booking: Booking, check_in: date, check_out: date) -> None:
    if (check_in, check_out) == (booking.check_in, booking.check_out):
        raise InvalidDates(
            "Those are the stay's dates already: choose other dates.",
            fields={"check_in": ["unchanged"]},
        )


def _guest_extension_holds(booking: Booking) -> list[int]:
    return list(
        Booking.objects.filter(
            extension_payments__booking=booking,
            extension_payments__status=Payment.Status.PENDING,
        ).values_list("pk", flat=True)
    )


def date_change_quote(
    *, booking: Booking, check_in: date, check_out: date, now: datetime | None = None
) -> DateChangeQuote:
    """What moving the stay to [check_in, check_out) would cost, when those nights are
    free. Raises a BookingError naming what is wrong (the dates, a collision with the
    stay in the way, a booking that cannot change). Writes nothing."""
    now = now or timezone.now()
    _changeable_check(booking)
    prop = booking.property
    # The owner's change meets the engine's limits, not the site's stay rules: they
    # record what they agreed with the guest (as in the admin).
    stay_dates_check(
        property=prop,
        check_in=check_in,
        check_out=check_out,
        today=prop.local_today(),
        allow_past=True,
        allow_beyond_horizon=True,
    )
    _other_dates_check(booking, check_in, check_out)
    priced = quote(prop, check_in, check_out, booking.guests, enforce_rules=False)
    other = (
        Booking.objects.filter(property=prop)
        .active(now=now)
        .overlapping(check_in, check_out)
        .exclude(pk=booking.pk)
        .exclude(pk__in=_guest_extension_holds(booking))
        .order_by("stay")
        .first()
    )
    if other is not None:
        raise StayUnavailable(conflict=(other.check_in, other.check_out))
    paid = booking.amount_paid - booking.amount_refunded
    return DateChangeQuote(
        booking=booking,
        check_in=check_in,
        check_out=check_out,
        quote=priced,
        difference=priced.total - booking.total,
        paid=paid,
        due=max(Decimal(0), priced.total - paid),
        overpaid=max(Decimal(0), paid - priced.total),
    )


@calendar_write
def _change_and_record_refund(
    *,
    booking: Booking,
    check_in: date,
    check_out: date,
    expected_total: Decimal | None,
    refund_overpayment: bool,
    now: datetime,
) -> tuple[Booking, Decimal, list[int]]:
    with transaction.atomic():
        # Lock order of payment writes: payment rows, then property, then booking.
        payments = list(Payment.objects.select_for_update().filter(booking=booking).order_by("pk"))
        open_extensions = [
            p
            for p in payments
            if p.kind == Payment.Kind.EXTENSION and p.status == Payment.Status.PENDING
        ]
        if open_extensions:
            Payment.objects.filter(pk__in=[p.pk for p in open_extensions]).update(
                status=Payment.Status.FAILED, outcome=REPLACED_EXTENSION, updated_at=now
            )
            extension_holds_release(
                holds=list(Booking.objects.filter(extension_payments__in=open_extensions))
            )
        current = Booking.objects.get(pk=booking.pk)
        _changeable_check(current)
        _other_dates_check(current, check_in, check_out)
        changed, difference = booking_change_dates(
            booking=current,
            check_in=check_in,
            check_out=check_out,
            enforce_rules=False,
            now=now,
        )
        if expected_total is not None and changed.total != expected_total:
            raise PriceChanged(
                f"The price of those dates is now {format_money(changed.total, changed.currency)}"
                f", not {format_money(expected_total, changed.currency)}: nothing was changed. "
                "Check the new figures and confirm again."
            )
        refund_ids: list[int] = []
        changed.refresh_from_db()
        overpaid = (changed.amount_paid - changed.amount_refunded) - changed.total
        if refund_overpayment and overpaid > 0:
            refund_ids = refunds_plan(
                booking=changed, amount=overpaid, reason=Refund.Reason.NEW_DATES
            )
    return changed, difference, refund_ids


def booking_dates_change(
    *,
    booking: Booking,
    check_in: date,
    check_out: date,
    expected_total: Decimal | None = None,
    refund_overpayment: bool = False,
    now: datetime | None = None,
) -> DateChange:
    """Move the stay to [check_in, check_out) for the owner and settle the difference
    (see the module). `expected_total` is the new total the owner was shown: if the
    price moved since, nothing changes (PriceChanged). Raises StayUnavailable when the
    nights are taken (the exclusion constraint decides), InvalidDates, or
    InvalidTransition (a partner's stay, a stay not confirmed)."""
    now = now or timezone.now()
    _changeable_check(booking)
    changed, difference, refund_ids = _change_and_record_refund(
        booking=booking,
        check_in=check_in,
        check_out=check_out,
        expected_total=expected_total,
        refund_overpayment=refund_overpayment,
        now=now,
    )
    refunds_execute(refund_ids=refund_ids)
    changed.refresh_from_db()
    refunds = list(Refund.objects.filter(pk__in=refund_ids).order_by("pk"))
    return DateChange(booking=changed, difference=difference, refunds=refunds)
