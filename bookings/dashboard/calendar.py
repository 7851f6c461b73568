"""The calendar page: every property by every night of a month, and owner blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from bookings.dashboard.forms import BlockForm
from bookings.dashboard.grid import SOURCE_LABELS, build_groups, days_of
from bookings.dashboard.selectors import (
    add_months,
    calendar_bookings,
    calendar_properties,
    month_end,
    month_start,
)
from bookings.dashboard.slots import calendar_marks
from bookings.errors import BookingError, InvalidDates, StayUnavailable
from bookings.services.blocks import block_create
from properties.dashboard.access import Acting
from properties.dashboard.registry import asked_together
from properties.dashboard.text import plural
from properties.dashboard.views import render_page
from properties.models import Property
from properties.permissions import MANAGE_BOOKINGS

LEGEND = [
    ("is-stay src-direct", "Direct booking"),
    ("is-stay src-airbnb", "Airbnb"),
    ("is-stay src-booking", "Booking.com"),
    ("is-stay src-vrbo", "Vrbo"),
    ("is-stay src-owner", "Owner or API"),
    ("is-hold", "Hold (awaiting payment)"),
    ("is-block", "Blocked"),
    ("has-conflict", "Conflict"),
]


def parse_month(raw: str | None, today: date) -> date:
    """`YYYY-MM` -> its first day; anything else -> this month."""
    try:
        year, month = (int(part) for part in (raw or "").split("-"))
        if 2000 <= year <= 2100:
            return date(year, month, 1)
    except ValueError:
        pass
    return month_start(today)


# Above this many properties the calendar shows one group at a time (a chain's hotels):
# the one chosen, else the member's first; links lead to the groups before and after.
ONE_GROUP_ABOVE = 150


OTHER = "none"  # the choice of the properties in no group


@dataclass(frozen=True)
class Shown:
    """One page of a calendar shown a group at a time: a group, or the properties in
    none."""

    value: str  # the `group` parameter
    name: str
    group_id: int | None


# A page of the calendar holds this many rows at most (a hotel's 400 rooms are four).
ROWS_PER_PAGE = 100


def month_url(month: date, anchor: str = "", group: Shown | None = None, rows: int = 1) -> str:
    chosen = f"&group={group.value}" if group is not None else ""
    if rows > 1:
        chosen += f"&rows={rows}"
    return f"{reverse('dashboard:calendar')}?month={month:%Y-%m}{chosen}{anchor}"


def bookings_link(group: Shown | None) -> str:
    """The start of a row's link to its property's bookings (the id follows)."""
    chosen = f"group={group.value}&" if group is not None else ""
    return f"{reverse('dashboard:bookings')}?{chosen}property="


@dataclass(frozen=True)
class GroupChoice:
    """The groups the member may pick from, the one shown (None: every property in
    their scope), whether "all of them" is on offer, and the groups before and after
    the one shown."""

    groups: list[Shown] = field(default_factory=list)
    chosen: Shown | None = None
    one_at_a_time: bool = False
    previous: Shown | None = None
    following: Shown | None = None


def group_choice(raw: str, acting: Acting, *, default_first: bool = True) -> GroupChoice:
    """Two queries whatever the business's size: the member's groups that hold a
    property; and, asked together, whether they see more than a page of properties (is
    there a property past the limit: a chain's 32,000 are not counted) and whether any
    of those is in no group."""
    groups = [
        Shown(value=str(g.pk), name=g.name, group_id=g.pk)
        for g in acting.scope.groups().filter(Exists(Property.objects.filter(group=OuterRef("pk"))))
    ]
    visible = acting.properties().order_by()
    many, ungrouped = asked_together(
        acting.business,
        [
            Q(Exists(visible.values("pk")[ONE_GROUP_ABOVE : ONE_GROUP_ABOVE + 1])),
            Q(Exists(visible.filter(group__isnull=True))),
        ],
    )
    if groups and ungrouped:
        groups.append(Shown(value=OTHER, name="Other properties", group_id=None))
    index = next((i for i, g in enumerate(groups) if g.value == raw), None)
    if index is None and groups and many and default_first:
        index = 0
    if index is None:
        return GroupChoice(groups=groups, one_at_a_time=many)
    return GroupChoice(
        groups=groups,
        chosen=groups[index],
        one_at_a_time=many,
        previous=groups[index - 1] if index > 0 else None,
        following=groups[index + 1] if index + 1 < len(groups) else None,
    )


def _page(
    request: HttpRequest,
    acting: Acting,
    month: date,
    form: BlockForm | None,
    properties: list[Property],
    choice: GroupChoice,
    status: int = 200,
) -> HttpResponse:
    end = month_end(month)
    group = choice.chosen
    rows: Page[Property] = Paginator(properties, ROWS_PER_PAGE).get_page(request.GET.get("rows"))
    properties = list(rows.object_list)
    at = rows.number
    bookings = calendar_bookings(
        business=acting.business, start=month, end=end, property_ids=[p.pk for p in properties]
    )
    marks = calendar_marks(acting, properties, month, end)
    this_month = month_start(acting.today)
    context: dict[str, Any] = {
        "month": month,
        "days": days_of(month, end, acting.today),
        "groups": build_groups(
            properties,
            bookings,
            marks,
            month,
            end,
            acting.today,
            bookings_link=bookings_link(group),
        ),
        "prev_url": month_url(add_months(month, -1), group=group, rows=at),
        "next_url": month_url(add_months(month, 1), group=group, rows=at),
        "rows_page": rows if rows.has_other_pages() else None,
        "rows_prev_url": rows.has_previous() and month_url(month, group=group, rows=at - 1),
        "rows_next_url": rows.has_next() and month_url(month, group=group, rows=at + 1),
        "group_choices": choice.groups if len(choice.groups) > 1 else [],
        "group": group,
        "one_group_at_a_time": choice.one_at_a_time,
        "previous_group": choice.previous,
        "previous_group_url": choice.previous and month_url(month, group=choice.previous),
        "following_group": choice.following,
        "following_group_url": choice.following and month_url(month, group=choice.following),
        "prev_month": add_months(month, -1),
        "next_month": add_months(month, 1),
        "today_url": month_url(this_month, "#today", group=group, rows=at),
        "is_this_month": month == this_month,
        "legend": LEGEND,
        "source_labels": SOURCE_LABELS,
        "block_form": form,
        "today": acting.today,
    }
    return render_page(request, acting, "dashboard/bookings/calendar.html", context, status=status)


def calendar_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    month = parse_month(request.GET.get("month"), acting.today)
    choice = group_choice(request.GET.get("group") or "", acting)
    properties = _shown(acting, choice, names_only=True)
    form = None
    if acting.may(MANAGE_BOOKINGS) and properties:
        form = BlockForm(properties=properties, initial={"start": acting.today})
    return _page(request, acting, month, form, properties, choice)


def _shown(acting: Acting, choice: GroupChoice, *, names_only: bool = False) -> list[Property]:
    """The properties on the page; `names_only` when they are only shown (a block
    is made on a property read whole)."""
    group = choice.chosen
    if group is None:
        return calendar_properties(
            business=acting.business, scope=acting.scope, names_only=names_only
        )
    return calendar_properties(
        business=acting.business,
        scope=acting.scope,
        group_id=group.group_id,
        ungrouped=group.group_id is None,
        names_only=names_only,
    )


def calendar_block(request: HttpRequest, acting: Acting) -> HttpResponse:
    """POST: close nights on a property (the block form under the calendar)."""
    if request.method != "POST":
        return redirect("dashboard:calendar")
    # The block form offers the properties on the calendar it was sent from: one
    # group's, for a business of many properties.
    choice = group_choice(request.POST.get("group") or "", acting)
    properties = _shown(acting, choice)
    form = BlockForm(request.POST, properties=properties)
    month = parse_month(request.POST.get("month"), acting.today)
    if form.is_valid():
        data = form.cleaned_data
        prop = form.chosen_property()
        try:
            block = block_create(
                property=prop,
                start=data["start"],
                end=data["end"],
                kind=data["kind"],
                note=data["note"],
            )
        except StayUnavailable as exc:
            form.add_error(None, exc.message)
        except InvalidDates as exc:
            form.add_error("end", exc.message)
        except BookingError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Blocked {prop.name} from {block.check_in:%-d %b} to {block.check_out:%-d %b %Y} "
                f"({plural(block.nights, 'night')}).",
            )
            return redirect(month_url(month_start(block.check_in), group=choice.chosen))
    start = form.cleaned_data.get("start") if hasattr(form, "cleaned_data") else None
    if isinstance(start, date):
        month = month_start(start)
    return _page(request, acting, month, form, properties, choice, status=400)
