"""Signals of payments that the apps above bookings (messaging) subscribe to."""

from __future__ import annotations

from django.dispatch import Signal

# The business's Holidesk subscription needs the owner; sent on commit. kwargs:
# business_id, stage ("payment_failed": a subscription payment failed, bookings go on
# until `grace_ends`; "ended": the subscription ended, likewise; "paused": the grace
# period is over and the site takes no new bookings), key (one notice per key),
# grace_ends (aware datetime)
billing_notice = Signal()
