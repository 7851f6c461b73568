"""Writes of the messaging app, one module per business process (import from the
module itself; this package re-exports nothing):

- `settings_rows`: business and property message settings, staff, default cleaner.
- `outbox`: scheduling a message once per key, cancelling pending ones, the owner's
  send-now and cancel, and the dispatcher that claims due rows for send tasks.
- `sending`: sending one outbox row at most once, under the global rate limit.
- `stay_messages`: a stay's guest messages and the owner's notices (new booking,
  cancellation, conflict), and the guest's automatic-refund notice.
- `turnovers`: cleaning jobs kept in step with the calendar; unaccepted-job alerts.
- `cleaners`: a job's emails to its cleaner, and putting another cleaner on a job.
- `key_codes`: key-box codes per job, their replacement and pruning, corrections to
  guests whose code or dates changed after they were told, and releasing welcomes
  that waited for a confirmation.
- `key_box`: confirming the code on a property's box (cleaner or owner), and the
  owner's alerts when a guest is sent a code while the new one is not confirmed.
- `calendar_sync`: all of the above after a calendar write (in the booking's
  transaction) or a settings change.
- `staff_actions`: accept, done (I set the code / I could not change it) and report a
  problem, through signed email links.
- `broadcasts`: free dates to past guests, and unsubscribes.

See docs/scheduling.md for what is scheduled when and the delivery guarantee.
"""
