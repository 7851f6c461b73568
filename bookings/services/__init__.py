"""Writes to the calendar, one module per business process:

- `stays`: a visitor's hold, confirmation, stays recorded by partners, the owner or the
  API, moving a stay, the guest details on it;
- `cancellation`: the policies, refund quotes, cancelling without paying anything out;
- `blocks`: nights closed by the owner, a feed or maintenance;
- `holds`: the visitor's hold allowance, extension holds, the sweep of run-out holds;
- `writes`: the critical section they share (property lock, overlap mapping, retries
  of lost lock races).

The rules of dates and guest details are `bookings.rules`.
"""
