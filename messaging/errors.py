"""Messaging domain errors (views map them to pages, the admin to form errors)."""

from __future__ import annotations

from properties.errors import DomainError


class MessagingError(DomainError):
    code = "messaging_error"
    http_status = 400


class NotFound(MessagingError):
    code = "not_found"
    http_status = 404


class JobClosed(MessagingError):
    """A staff link for a job that was cancelled."""

    code = "job_closed"
    http_status = 409


class LinkOutdated(MessagingError):
    """A staff link from an email older than the job's latest change."""

    code = "link_outdated"
    http_status = 409


class InvalidBroadcast(MessagingError):
    code = "invalid_broadcast"
    http_status = 400


class ProblemAlreadyReported(MessagingError):
    """A staff link's problem report can no longer be reworded (one report per link)."""

    code = "problem_already_reported"
    http_status = 409


class InvalidKeyCode(MessagingError):
    """A code that cannot be confirmed on a box: not 4-6 digits, or one of the last
    codes on it (past guests know those)."""

    code = "invalid_key_code"
    http_status = 400


class KeyCodeAlreadyConfirmed(MessagingError):
    """A cleaner says they could not change a code someone already confirmed."""

    code = "key_code_already_confirmed"
    http_status = 409


class KeyBoxMovedOn(MessagingError):
    """A confirmation of a job's code that the box has since left behind: a later job's
    code, or a newer code, was confirmed on it."""

    code = "key_box_moved_on"
    http_status = 409


class BroadcastDatesTaken(InvalidBroadcast):
    """Some of the nights a broadcast offers are booked, held or blocked now."""

    code = "dates_taken"
    http_status = 409


class InvalidMessage(MessagingError):
    """An empty or oversized message: nothing is written."""

    code = "invalid_message"
    http_status = 400


class ReplyNotSent(MessagingError):
    """A reply that has nowhere to go (no guest email, a channel no longer connected)."""

    code = "reply_not_sent"
    http_status = 409
