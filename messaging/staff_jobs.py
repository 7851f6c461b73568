"""A staff member's "my jobs" page, reached from a link emailed to their address.

Staff (cleaners, repair people) have no dashboard and no password: they ask for a link
on `/m/staff/my-jobs/` with their email address, and each business that has them as
active staff sends one (valid a few days). The page lists their coming jobs with the
same signed accept / done / problem links their job emails carry. The answer to the
request never says whether the address is known, and requests are rate-limited per
address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from messaging import links
from messaging.models import Staff, Turnover

LINK_VALID = timedelta(days=3)
SHOWN_DAYS = 45
REQUESTS_PER_HOUR = 3


@dataclass(frozen=True)
class JobRow:
    turnover: Turnover
    accept_url: str
    done_url: str
    problem_url: str


def staff_coming_jobs(*, staff: Staff, now: datetime) -> QuerySet[Turnover]:
    """The staff member's jobs from yesterday on, cancelled ones aside, soonest first."""
    return (
        Turnover.objects.filter(business_id=staff.business_id, cleaner=staff)
        .filter(
            starts_at__gte=now - timedelta(days=1), starts_at__lt=now + timedelta(days=SHOWN_DAYS)
        )
        .exclude(state=Turnover.State.CANCELLED)
        .select_related("property", "next_booking")
        .order_by("starts_at")
    )


def _row(turnover: Turnover, expires: datetime) -> JobRow:
    def url(action: str) -> str:
        return links.staff_url(
            turnover_id=turnover.pk, action=action, revision=turnover.revision, expires=expires
        )

    return JobRow(turnover, url("accept"), url("done"), url("problem"))


class LinkRequestForm(forms.Form):
    email = forms.EmailField(max_length=254, label="Your email address")


def _allowed(email: str) -> bool:
    key = f"staff-jobs-link:{email}"
    cache.add(key, 0, timeout=3600)
    try:
        return int(cache.incr(key)) <= REQUESTS_PER_HOUR
    except ValueError:
        return True


def staff_jobs_request(request: HttpRequest) -> HttpResponse:
    form = LinkRequestForm(request.POST or None)
    sent = False
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        if _allowed(email):
            expires = timezone.now() + LINK_VALID
            for staff in Staff.objects.filter(email__iexact=email, active=True).select_related(
                "business"
            ):
                url = links.staff_jobs_url(staff_id=staff.pk, expires=expires)
                send_mail(
                    f"Your jobs for {staff.business.name}",
                    f"Hello {staff.name},\n\nYour coming jobs for {staff.business.name}: {url}\n\n"
                    f"The link works for {LINK_VALID.days} days.\n",
                    settings.DEFAULT_FROM_EMAIL,
                    [staff.email],
                )
        sent = True  # the same answer whether the address is known or not
    return render(request, "messaging/staff_jobs_request.html", {"form": form, "sent": sent})


def staff_jobs(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    try:
        staff_id = links.read_staff_jobs_token(token, now=now)
    except links.LinkExpired:
        message = "This link has expired: ask for a new one."
        return render(request, "messaging/link_error.html", {"message": message}, status=410)
    except links.LinkInvalid:
        message = "This link is not valid."
        return render(request, "messaging/link_error.html", {"message": message}, status=404)
    staff = Staff.objects.select_related("business").filter(pk=staff_id, active=True).first()
    if staff is None:
        message = "This link is not valid any more."
        return render(request, "messaging/link_error.html", {"message": message}, status=404)
    expires = now + LINK_VALID
    rows = [_row(t, expires) for t in staff_coming_jobs(staff=staff, now=now)]
    response = render(
        request, "messaging/staff_jobs.html", {"staff": staff, "rows": rows, "days": SHOWN_DAYS}
    )
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
