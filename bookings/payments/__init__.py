"""Payments of direct bookings, a Django app of its own (label `payments`): models,
a gateway interface with a Stripe and a fake implementation (gateway.py, stripe_gateway.py,
fake.py), the services that drive checkouts, extensions, refunds and Stripe's events,
the checkout pages and Stripe's webhook, and the admin.

It builds on the booking engine (bookings.models, services, pricing); the engine never
imports it. Its tables keep their `bookings_` names from when it was part of that app."""
