"""Writes of direct-booking payments, one module per process:

- `checkout`: a visitor pays for a stay (resume or start a checkout), and what a
  payment's success or failure does to the booking;
- `extensions`: nights added to a confirmed stay, paid as the difference;
- `refunds`: refunds recorded, sent and retried; cancelling a paid stay;
- `stripe_events`: Stripe's verified webhook events and a checkout session read back.

Import from the module itself; this package re-exports nothing.
"""
