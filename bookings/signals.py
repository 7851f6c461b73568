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

# --- Partner conversations -------------------------------------------------------------
# Messaging keeps the owner's inbox; integrations speaks to partners. Neither imports the
# other: these four signals are all they say to each other about conversations.
#
# A partner sent a message about one of its reservations. Sent by integrations inside
# the inbound event's transaction, so the thread commits or rolls back with the event.
# kwargs: business_id, channel_id (the channel's public id), channel_name, reservation_id,
# message_id, role ("guest" | "host"), body, sent_at, booking_id (or None)
partner_message_received = Signal()
# A partner reservation was applied to a booking (integrations, inside the event's
# transaction): threads that began before the booking existed are linked to it.
# kwargs: business_id, channel_id, reservation_id, booking_id
partner_reservation_applied = Signal()
# The owner replied in a partner thread. Sent by messaging inside the reply's
# transaction: the receiver queues the outbound push there, so the reply and its push
# commit together or not at all. A receiver returns True once queued, or raises a
# DomainError saying why the reply cannot go (shown to the owner).
# kwargs: business_id, channel_id, reservation_id, message_id, body, sent_at
partner_reply_written = Signal()
# A reply's push was delivered, is being retried, or gave up (integrations, inside the
# push's transaction). kwargs: business_id, channel_id, message_id,
# state ("pending" | "sent" | "failed"), error ("" when none)
partner_reply_delivery = Signal()
