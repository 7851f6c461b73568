"""Payments of direct bookings: a gateway interface with a Stripe and a fake
implementation, and the services that drive checkouts, webhooks and refunds."""
