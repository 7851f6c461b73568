"""The code on a property's key box: it changes only when someone confirms it.

A cleaner confirms through the done page of their job link ("I set it"), or says they
could not change it; an owner confirms or corrects in the admin (they set the planned
code themselves, or the box holds another code). Each confirmation is recorded with
who and when (`KeyCodeConfirmation`) and moves `KeyBox`; guests already told another
code are then sent the confirmed one, and welcomes that waited for it go out.

The owner is alerted at once when a guest is sent a code while the new code for their
arrival is not confirmed, and when a cleaner could not change the code.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from messaging.errors import InvalidKeyCode, KeyBoxMovedOn, LinkOutdated, NotFound
from messaging.models import KeyBox, KeyCode, KeyCodeConfirmation, Kind, Staff, Turnover
from messaging.selectors import check_in_moment, cleaner_state
from messaging.services.key_codes import arrivals_reconcile, key_codes_prune
from messaging.services.outbox import outbox_kick
from messaging.services.stay_messages import owner_notice_schedule
from properties.db import lock_one
from properties.models import Property, User
from properties.urls_util import app_url

Source = KeyCodeConfirmation.Source
CODE_FORMAT = re.compile(r"\d{4,6}")


def key_code_confirm(
    *,
    property: Property,
    code: str,
    by: User | Staff | None,
    source: str,
    turnover: Turnover | None = None,
    now: datetime | None = None,
) -> KeyCodeConfirmation:
    """`by` says the box of `property` now holds `code`: the planned code of a job (with
    `turnover`, that job's code), the code already on it, or a new code of the owner's.

    One of the last codes on the box is refused: past guests know it. Guests who were
    told another code and have not arrived are sent this one; welcomes that waited for
    it go out."""
    now = now or timezone.now()
    code = (code or "").strip()
    if not CODE_FORMAT.fullmatch(code):
        raise InvalidKeyCode(
            "A key-box code is 4 to 6 digits.", fields={"code": ["Enter 4 to 6 digits."]}
        )
    if isinstance(by, Staff) and by.business_id != property.business_id:
        raise NotFound("No such staff member.")
    if turnover is not None and turnover.property_id != property.pk:
        raise NotFound("No such cleaning job.")
    with transaction.atomic():
        prop = lock_one(Property.objects.select_related("business"), pk=property.pk)
        box = KeyBox.objects.filter(property=prop).select_related("key_code").first()
        key = _code_to_confirm(prop, code, turnover=turnover, box=box, now=now)
        if key.confirmed_at is None:
            key.confirmed_at = now
            key.save(update_fields=["confirmed_at"])
        if box is None:
            KeyBox.objects.create(
                business_id=prop.business_id, property=prop, key_code=key, since=now
            )
        elif box.key_code_id != key.pk:
            box.key_code = key
            box.since = now
            box.save(update_fields=["key_code", "since", "updated_at"])
        job = turnover or Turnover.objects.filter(key_code=key).first()
        if job is not None and job.state != Turnover.State.CANCELLED:
            job.code_outcome = Turnover.CodeOutcome.SET
            job.code_outcome_at = now
            job.save(update_fields=["code_outcome", "code_outcome_at", "updated_at"])
        confirmation = KeyCodeConfirmation.objects.create(
            business_id=prop.business_id,
            property=prop,
            key_code=key,
            turnover=job,
            source=source,
            confirmed_by_user=by if isinstance(by, User) else None,
            confirmed_by_staff=by if isinstance(by, Staff) else None,
            confirmed_at=now,
        )
        arrivals_reconcile(prop=prop, now=now)
        key_codes_prune(prop=prop, now=now)
        outbox_kick()
    return confirmation


def _code_to_confirm(
    prop: Property, code: str, *, turnover: Turnover | None, box: KeyBox | None, now: datetime
) -> KeyCode:
    if turnover is not None:
        key = KeyCode.objects.filter(turnover=turnover).first()
        if key is None or key.code != code:
            raise LinkOutdated(
                "The code for this job changed after that email was sent. "
                "Please use the newest email."
            )
        # A late press must not put the box back to a code it has moved on from.
        replaced = key.confirmed_at is not None and (box is None or box.key_code_id != key.pk)
        later = KeyCode.objects.filter(
            property=prop, confirmed_at__isnull=False, turnover__starts_at__gt=turnover.starts_at
        ).exists()
        if replaced or later:
            raise KeyBoxMovedOn(
                "A newer code has been confirmed on the box since this job, so this one is "
                "no longer on it. Nothing to do."
            )
        return key
    if box is not None and box.key_code.code == code:
        return box.key_code
    # Kept codes are unique per property (`key_code_new`), so at most one matches.
    known = KeyCode.objects.filter(property=prop, code=code).first()
    if known is not None and known.confirmed_at is not None:
        raise InvalidKeyCode(
            f"{code} was on this box recently, so past guests know it. "
            "Please set the box to another code.",
            fields={"code": ["One of the last codes on this box: choose another."]},
        )
    if known is not None:
        return known  # a planned code: the owner set it themselves
    return KeyCode.objects.create(
        business_id=prop.business_id,
        property=prop,
        code=code,
        valid_from=now.astimezone(prop.tz).date(),
    )


# --- Owner alerts ---------------------------------------------------------------------------


def key_box_url(prop: Property) -> str:
    """The admin page where the owner confirms or corrects the code on the box."""
    return app_url(reverse("admin:messaging_keycode_box", args=[prop.pk]))


def _job_url(job: Turnover | None) -> str:
    if job is None:
        return ""
    return app_url(reverse("admin:messaging_turnover_change", args=[job.pk]))


def welcome_unconfirmed_alert(
    *, booking: Booking, sent: str, planned: KeyCode, now: datetime
) -> None:
    """A guest was just sent `sent` while `planned`, the code for their arrival, is not
    confirmed on the box: the owner hears at once (once per arrival and planned code)."""
    prop = booking.property
    job = planned.turnover
    local = check_in_moment(booking).astimezone(prop.tz)
    if planned.code == sent:
        what = (
            f"No code is confirmed on the box yet, so {booking.guest_name or 'the guest'} "
            f"({booking.reference}, arriving {local:%a} {local.day} {local:%b %H:%M}) was sent "
            f"{sent}, the planned code."
        )
    else:
        what = (
            f"The new code {planned.code} is not confirmed on the box, so "
            f"{booking.guest_name or 'the guest'} ({booking.reference}, arriving "
            f"{local:%a} {local.day} {local:%b %H:%M}) was sent {sent}, the code confirmed "
            f"on the box."
        )
    owner_notice_schedule(
        business=prop.business,
        kind=Kind.OWNER_KEY_CODE,
        key=f"booking:{booking.pk}:code:{planned.pk}",
        now=now,
        booking=booking,
        turnover=job,
        context={
            "summary": f"{what} {cleaner_state(job)}",
            "key_code": sent,
            "confirm_url": key_box_url(prop),
            "job_url": _job_url(job),
        },
    )
    outbox_kick()


def code_not_set_alert(*, turnover: Turnover, now: datetime) -> None:
    """The cleaner could not change the code: the owner hears at once."""
    prop = turnover.property
    box = KeyBox.objects.filter(property=prop).select_related("key_code").first()
    planned = KeyCode.objects.filter(turnover=turnover).values_list("code", flat=True).first()
    on_box = box.key_code.code if box else "none confirmed yet"
    who = turnover.cleaner.name if turnover.cleaner else "The cleaner"
    owner_notice_schedule(
        business=prop.business,
        kind=Kind.OWNER_KEY_CODE,
        key=f"turnover:{turnover.pk}:rev{turnover.revision}:not-set",
        now=now,
        booking=turnover.next_booking,
        turnover=turnover,
        context={
            "summary": f"{who} could not change the key-box code to {planned}. Guests are "
            f"sent the code confirmed on the box ({on_box}) until you confirm or correct it.",
            "key_code": on_box if box else "",
            "confirm_url": key_box_url(prop),
            "job_url": _job_url(turnover),
        },
    )
