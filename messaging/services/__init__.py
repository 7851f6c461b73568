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
- `key_codes`: key-box codes per job, their replacement and pruning, and corrections
  to guests whose code or dates changed after they were told.
- `calendar_sync`: all of the above after a calendar write (in the booking's
  transaction) or a settings change.
- `staff_actions`: accept, done and report a problem, through signed email links.
- `broadcasts`: free dates to past guests, and unsubscribes.

See docs/scheduling.md for what is scheduled when and the delivery guarantee.
"""
