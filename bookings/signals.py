"""Signals of the booking engine: the only way messaging and integrations hear of it.

Two flavours, because two kinds of listener need different guarantees:

- `booking_confirmed`, `booking_changed`, `booking_cancelled`, `block_changed` are sent
  **after commit**, with the booking id, for side effects that leave the process
  (pushes to partners, emails sent now). A rolled-back change sends nothing.
- `calendar_written` is sent **inside** the service's transaction, with the booking and
  what happened to it, for bookkeeping that must commit or roll back with the booking
  (the message outbox is re-timed or cancelled in the same transaction).

Receivers are one line that calls their app's service.
"""

from __future__ import annotations

from django.dispatch import Signal

# kwargs: booking_id
booking_confirmed = Signal()
# kwargs: booking_id, old_check_in, old_check_out (ISO dates)
booking_changed = Signal()
# kwargs: booking_id
booking_cancelled = Signal()
# kwargs: booking_id, action ("created" | "removed" | "changed")
block_changed = Signal()
# kwargs: booking (instance), action ("held" | "confirmed" | "changed" | "cancelled" |
# "expired" | "block_created" | "block_removed"), previous (dict of old values or None)
calendar_written = Signal()
# A partner stay collided with an existing one and was recorded for the owner to
# resolve (sent on commit by integrations; messaging emails the owner).
# kwargs: business_id, conflict_id, summary (one line for humans)
conflict_recorded = Signal()
# A refund the visitor did not ask for went through the gateway (a payment that arrived
# after its nights were taken, or after the stay's dates changed); messaging tells them.
# Sent once the gateway accepted the refund. kwargs: business_id, booking_id,
# refund_id, summary (one sentence for the guest)
refund_issued = Signal()
