"""Errors of the partner endpoints and channel management, each with its HTTP status
and the stable code of the API contract."""

from __future__ import annotations

from properties.errors import DomainError


class IntegrationError(DomainError):
    code = "integration_error"
    http_status = 400


class UnknownChannel(IntegrationError):
    code = "unknown_channel"
    http_status = 404


class InvalidSignature(IntegrationError):
    code = "invalid_signature"
    http_status = 401


class PayloadTooLarge(IntegrationError):
    code = "payload_too_large"
    http_status = 413


class UnsupportedMediaType(IntegrationError):
    code = "unsupported_media_type"
    http_status = 415


class InvalidPayload(IntegrationError):
    code = "invalid_payload"
    http_status = 400


class UnknownListing(IntegrationError):
    code = "unknown_listing"
    http_status = 422


class InvalidChannelSetup(IntegrationError):
    code = "invalid_channel"
    http_status = 400


class ConflictClosed(IntegrationError):
    code = "conflict_closed"
    http_status = 409


class ReplyRefused(IntegrationError):
    """A host reply that cannot be pushed (the channel is paused, gone, or has no
    endpoint URL): the owner is told, and nothing is written."""

    code = "reply_refused"
    http_status = 409
