"""The reads behind `messaging.key_box_selectors`, in SQL as Today's panels read
(properties.dashboard.reads on why): Today's key-code panel asks them on every visit.
Rows come back as model instances with their related rows attached, as
`select_related` would give them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bookings.models import Booking
from messaging.models import (
    BusinessMessaging,
    KeyBox,
    KeyCode,
    Kind,
    PropertyMessaging,
    ScheduledMessage,
    Staff,
    Turnover,
)
from properties.dashboard.reads import attach, columns, related_from, scope_sql
from properties.models import Business, Property
from properties.permissions import Scope

# What explaining a key box reads of its property and its arrivals (the rest is
# deferred).
PROPERTY_FIELDS = ("id", "business", "group", "name", "timezone", "check_in_time", "check_out_time")
BOOKING_FIELDS = (
    "id",
    "reference",
    "business",
    "property",
    "stay",
    "status",
    "kind",
    "source",
    "guest_name",
    "guest_email",
    "guests",
    "language",
)


def box_properties(
    *, business: Business, now: datetime, days: int, scope: Scope | None, arriving_only: bool
) -> tuple[list[Property], BusinessMessaging]:
    """The properties of `scope` by name, each with its key box and the code on it and
    its messaging settings; and the business's messaging settings (a default row
    without one)."""
    in_scope, values = scope_sql(scope, "p.group_id")
    values["business"] = business.pk
    arriving = ""
    if arriving_only:
        # A day either side of UTC's dates covers every property's own today; the
        # exact days are checked per property by the caller.
        utc_today = now.astimezone(UTC).date()
        arriving = """
          AND EXISTS (
            SELECT FROM bookings_booking b
            WHERE b.property_id = p.id AND b.kind = %(stay)s AND b.status = %(confirmed)s
              AND b.stay && daterange(%(first)s, %(last)s, '[]')
              AND lower(b.stay) BETWEEN %(first)s AND %(last)s)"""
        values |= {
            "stay": Booking.Kind.STAY,
            "confirmed": Booking.Status.CONFIRMED,
            "first": utc_today - timedelta(days=1),
            "last": utc_today + timedelta(days=days + 1),
        }
    sql = f"""
        SELECT {columns(Property, "p", only=PROPERTY_FIELDS)}, {columns(KeyBox, "x", "x_")},
               {columns(KeyCode, "kc", "kc_")}, {columns(PropertyMessaging, "pm", "pm_")},
               {columns(BusinessMessaging, "bm", "bm_")}
        FROM properties_property p
        LEFT JOIN messaging_keybox x ON x.property_id = p.id
        LEFT JOIN messaging_keycode kc ON kc.id = x.key_code_id
        LEFT JOIN messaging_propertymessaging pm ON pm.property_id = p.id
        LEFT JOIN messaging_businessmessaging bm ON bm.business_id = p.business_id
        WHERE p.business_id = %(business)s::bigint AND {in_scope}{arriving}
        ORDER BY p.name, p.id"""  # noqa: S608 (constant fragments; the values are parameters)
    properties = list(Property.objects.raw(sql, values))
    business_settings = None
    for prop in properties:
        attach(prop, "business", business)
        box = related_from(prop, KeyBox, "x_")
        if box is not None:
            attach(box, "key_code", related_from(prop, KeyCode, "kc_"))
        attach(prop, "key_box", box)
        attach(prop, "messaging_settings", related_from(prop, PropertyMessaging, "pm_"))
        business_settings = business_settings or related_from(prop, BusinessMessaging, "bm_")
    return properties, business_settings or BusinessMessaging(business=business)


def box_codes(property_ids: list[int], *, first_day: date, now: datetime) -> list[KeyCode]:
    """The codes that can matter, each with its job and the job's cleaner: confirmed
    ones (at most a few per property: pruning), codes planned from `first_day` on,
    codes of jobs still to come, first codes never confirmed; and the newest planned
    code before that day per property (DISTINCT ON), the one a guest arriving first
    gets when no job comes before."""
    sql = f"""
        SELECT {columns(KeyCode, "k")}, {columns(Turnover, "t", "t_")},
               {columns(Staff, "s", "s_")}
        FROM messaging_keycode k
        LEFT JOIN messaging_turnover t ON t.id = k.turnover_id
        LEFT JOIN messaging_staff s ON s.id = t.cleaner_id
        WHERE k.property_id = ANY(%(properties)s::bigint[])
          AND (k.confirmed_at IS NOT NULL
               OR (k.retired_at IS NULL AND k.valid_from > %(first_day)s)
               OR (k.retired_at IS NULL AND k.confirmed_at IS NULL
                   AND (k.turnover_id IS NULL OR t.ends_at IS NULL OR t.ends_at > %(now)s))
               OR k.id IN (
                   SELECT DISTINCT ON (n.property_id) n.id FROM messaging_keycode n
                   WHERE n.property_id = ANY(%(properties)s::bigint[])
                     AND n.valid_from <= %(first_day)s AND n.retired_at IS NULL
                   ORDER BY n.property_id, n.valid_from DESC, n.id DESC))"""  # noqa: S608 (constant fragments; the values are parameters)
    values = {"properties": property_ids, "first_day": first_day, "now": now}
    codes = list(KeyCode.objects.raw(sql, values))
    for code in codes:
        job = related_from(code, Turnover, "t_")
        if job is not None:
            attach(job, "cleaner", related_from(code, Staff, "s_"))
        attach(code, "turnover", job)
    return codes


def box_arrivals(property_ids: list[int], *, first_day: date, last_day: date) -> list[Booking]:
    """The confirmed stays arriving at those properties from `first_day` to
    `last_day`, by check-in. Property by property, so that the (property, stay) index
    answers each (an array of them would have it scan every property's stays)."""
    sql = f"""
        SELECT {columns(Booking, "b", only=BOOKING_FIELDS)}
        FROM unnest(%(properties)s::bigint[]) AS property (id)
        JOIN bookings_booking b ON b.property_id = property.id
        WHERE b.kind = %(stay)s AND b.status = %(confirmed)s
          AND b.stay && daterange(%(first)s, %(last)s, '[]')
          AND lower(b.stay) BETWEEN %(first)s AND %(last)s
        ORDER BY b.stay, b.id"""  # noqa: S608 (constant fragments; the values are parameters)
    values = {
        "properties": property_ids,
        "stay": Booking.Kind.STAY,
        "confirmed": Booking.Status.CONFIRMED,
        "first": first_day,
        "last": last_day,
    }
    return list(Booking.objects.raw(sql, values))


def explaining_emails(bookings: list[Booking], jobs: list[Turnover]) -> list[ScheduledMessage]:
    """The emails that explain the arrivals' codes, by id: the guests' welcome and
    key-update emails and the jobs' emails to their cleaners."""
    sql = f"""
        SELECT {columns(ScheduledMessage, "m")} FROM messaging_scheduledmessage m
        WHERE (m.booking_id = ANY(%(bookings)s::bigint[])
               AND m.kind = ANY(%(guest_kinds)s::text[]))
           OR (m.turnover_id = ANY(%(jobs)s::bigint[]) AND m.kind = ANY(%(job_kinds)s::text[]))
        ORDER BY m.id"""  # noqa: S608 (constant fragments; the values are parameters)
    values = {
        "bookings": [b.pk for b in bookings],
        "guest_kinds": [Kind.WELCOME, Kind.KEY_UPDATE],
        "jobs": [j.pk for j in jobs],
        "job_kinds": [Kind.CLEANER_JOB, Kind.CLEANER_UPDATE],
    }
    return list(ScheduledMessage.objects.raw(sql, values))
