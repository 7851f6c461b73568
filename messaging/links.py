"""Signed links in emails: staff job actions and guest unsubscribes.

Nothing is stored for them: each token is a payload signed with SECRET_KEY under its
own salt, so a token made for one purpose is useless for another. Staff tokens name
one action on one revision of one job and carry an expiry; a job that changes gets a
new revision, so links from an outdated email stop working. Unsubscribe tokens do not
expire (an unsubscribe link must keep working).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.core import signing
from django.urls import reverse

from properties.urls_util import app_url

STAFF_SALT = "messaging.staff-link.v1"
UNSUBSCRIBE_SALT = "messaging.unsubscribe.v1"
STAFF_ACTIONS = ("accept", "done", "problem")


class LinkInvalid(Exception):
    pass


class LinkExpired(LinkInvalid):
    pass


@dataclass(frozen=True)
class StaffLink:
    turnover_id: int
    action: str
    revision: int
    expires: datetime


def staff_token(*, turnover_id: int, action: str, revision: int, expires: datetime) -> str:
    if action not in STAFF_ACTIONS:
        raise ValueError(action)
    payload = {"t": turnover_id, "a": action, "v": revision, "e": int(expires.timestamp())}
    return signing.dumps(payload, salt=STAFF_SALT, compress=True)


def read_staff_token(token: str, *, now: datetime) -> StaffLink:
    try:
        payload = signing.loads(token, salt=STAFF_SALT)
        link = StaffLink(
            turnover_id=int(payload["t"]),
            action=str(payload["a"]),
            revision=int(payload["v"]),
            expires=datetime.fromtimestamp(int(payload["e"]), tz=UTC),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid("This link is not valid.") from exc
    if link.action not in STAFF_ACTIONS:
        raise LinkInvalid("This link is not valid.")
    if now > link.expires:
        raise LinkExpired("This link has expired.")
    return link


def staff_url(*, turnover_id: int, action: str, revision: int, expires: datetime) -> str:
    token = staff_token(turnover_id=turnover_id, action=action, revision=revision, expires=expires)
    return app_url(reverse("messaging:staff-action", args=[token]))


def unsubscribe_token(*, business_id: int, email: str) -> str:
    return signing.dumps({"b": business_id, "e": email.lower()}, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        return int(payload["b"]), str(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid("This link is not valid.") from exc


def unsubscribe_url(*, business_id: int, email: str) -> str:
    token = unsubscribe_token(business_id=business_id, email=email)
    return app_url(reverse("messaging:unsubscribe", args=[token]))


# --- "My jobs": a staff member's own list, from a link sent to their address -----------

STAFF_JOBS_SALT = "messaging.staff-jobs.v1"


def staff_jobs_token(*, staff_id: int, expires: datetime) -> str:
    return signing.dumps({"s": staff_id, "e": int(expires.timestamp())}, salt=STAFF_JOBS_SALT)


def read_staff_jobs_token(token: str, *, now: datetime) -> int:
    """The staff member a "my jobs" link names (LinkInvalid / LinkExpired otherwise)."""
    try:
        payload = signing.loads(token, salt=STAFF_JOBS_SALT)
        staff_id = int(payload["s"])
        expires = datetime.fromtimestamp(int(payload["e"]), tz=UTC)
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid("This link is not valid.") from exc
    if now > expires:
        raise LinkExpired("This link has expired.")
    return staff_id


def staff_jobs_url(*, staff_id: int, expires: datetime) -> str:
    token = staff_jobs_token(staff_id=staff_id, expires=expires)
    return app_url(reverse("messaging:staff-jobs", args=[token]))
