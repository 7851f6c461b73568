"""Writes of the integrations app, one module per business process:

- `channels`: channels, their secrets and events URL, listing links;
- `events`: parsing and validating inbound partner payloads;
- `inbound`: applying partner events (reservations, messages) in revision order;
- `conflicts`: partner stays that collide with the calendar, and their resolution;
- `push`: the outbound push outbox (availability and listing changes);
- `ical`: iCal export feeds and feed import.

Import from the module itself; this package re-exports nothing.
"""
