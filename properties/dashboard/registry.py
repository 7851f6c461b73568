"""What the apps contribute to the owner dashboard.

The shell (layout, navigation, Today, access) lives here, at the bottom of the
dependency order, and knows no app above it. Each app registers, in its
`AppConfig.ready()`:

- pages: `register_page("bookings/", view, name="bookings")` -> `/dashboard/bookings/`,
  URL name `dashboard:bookings`. The view is called as `view(request, acting, **kwargs)`
  once access is checked (signed in, a member of the acting business who `permits` the
  page's action);
- navigation entries: `register_nav("Bookings", "dashboard:bookings", order=30)`;
- Today panels: `register_today_panel("arrivals", "Arrivals", build, order=10)`, where
  `build(acting)` returns a `Panel` of `Item`s in a constant number of queries. An
  attention panel whose items are exactly the rows of a queryset may also give
  `anything(acting)`: a `Q` over `Exists(...)` of those rows. The shell asks every
  such `Q` (and the setup steps') in one query and builds only the panels that have
  something (`asked_together`);
- setup steps shown to a new business until done: `register_setup_step(...)`, whose
  `done(business)` returns a bool, or a question the shell asks with the others in
  one query (`setup_done`): a `Q` over `Exists(...)`, or cheaper to build, an
  `exists_sql(...)`;
- extensions of another app's page: `register_extension(slot, fn)`; the page that
  owns the slot defines what `fn` is called with and returns (e.g. the booking page
  lets messaging add the guest's emails without bookings importing messaging).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.expressions import RawSQL
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from properties.permissions import ACTIONS, VIEW_DASHBOARD

if TYPE_CHECKING:
    from properties.dashboard.access import Acting
    from properties.models import Business

PageView = Callable[..., Any]
# A yes/no question the shell asks together with others (`asked_together`).
Question = Q | RawSQL

logger = logging.getLogger(__name__)

# Tones of badges and panels: each is also spelled out in words on the page, so
# colour is never the only signal.
TONES = ("neutral", "info", "ok", "warn", "bad")


@dataclass(frozen=True)
class Badge:
    label: str
    tone: str = "neutral"

    def __post_init__(self) -> None:
        if self.tone not in TONES:
            raise ValueError(f"Unknown tone {self.tone!r}.")


@dataclass(frozen=True)
class Item:
    """One line of a Today panel: what it is, where it is acted on."""

    title: str
    url: str = ""
    detail: str = ""
    meta: str = ""
    badges: tuple[Badge, ...] = ()


# An item as Today shows it: written here rather than by a template loop, which costs
# more than the rest of the page's rendering (every panel's items, every badge).
ITEM_HTML = '<li class="item"><div class="item-main">{title}{meta}</div>{detail}{badges}</li>'


def item_html(item: Item) -> SafeString:
    title = (
        format_html('<a class="item-title" href="{}">{}</a>', item.url, item.title)
        if item.url
        else format_html('<span class="item-title">{}</span>', item.title)
    )
    badges = (
        format_html(
            '<ul class="badges">{}</ul>',
            format_html_join(
                "",
                '<li class="badge badge-{}">{}</li>',
                ((badge.tone, badge.label) for badge in item.badges),
            ),
        )
        if item.badges
        else ""
    )
    return format_html(
        ITEM_HTML,
        title=title,
        meta=format_html('<span class="item-meta">{}</span>', item.meta) if item.meta else "",
        detail=format_html('<p class="item-detail">{}</p>', item.detail) if item.detail else "",
        badges=badges,
    )


@dataclass(frozen=True)
class Panel:
    items: list[Item]
    empty: str = "Nothing here."
    more_url: str = ""
    more_label: str = ""
    # How many there are in all, when `items` shows only the first few.
    total: int | None = None

    @property
    def count(self) -> int:
        return self.total if self.total is not None else len(self.items)

    @property
    def items_html(self) -> SafeString:
        return mark_safe("".join(item_html(item) for item in self.items))  # noqa: S308 (each is escaped by format_html)


@dataclass(frozen=True)
class Page:
    route: str
    view: PageView
    name: str
    action: str


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    order: int
    action: str


@dataclass(frozen=True)
class TodayPanel:
    key: str
    title: str
    build: Callable[[Acting], Panel]
    order: int
    # "day": always shown (arrivals, departures...); "attention": shown when it has items.
    kind: str
    action: str
    # Whether it has any item, as a `Q` the shell asks with the others (None: build it).
    anything: Callable[[Acting], Question] | None = None


@dataclass(frozen=True)
class SetupStep:
    key: str
    title: str
    text: str
    url: Callable[[], str]
    done: Callable[[Business], bool | Question]
    order: int
    action: str


@dataclass
class Registry:
    pages: dict[str, Page] = field(default_factory=dict)
    nav: dict[str, NavEntry] = field(default_factory=dict)
    panels: dict[str, TodayPanel] = field(default_factory=dict)
    setup: dict[str, SetupStep] = field(default_factory=dict)
    extensions: dict[str, list[tuple[int, Callable[..., Any]]]] = field(default_factory=dict)


registry = Registry()


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}.")


def register_page(route: str, view: PageView, *, name: str, action: str = VIEW_DASHBOARD) -> None:
    """A page under /dashboard/. Registering the same name again replaces it (a
    re-run `ready()` in tests must not duplicate URLs)."""
    _check_action(action)
    registry.pages[name] = Page(route=route, view=view, name=name, action=action)


def register_nav(
    label: str, url_name: str, *, order: int = 100, action: str = VIEW_DASHBOARD
) -> None:
    _check_action(action)
    registry.nav[url_name] = NavEntry(label=label, url_name=url_name, order=order, action=action)


def register_today_panel(
    key: str,
    title: str,
    build: Callable[[Acting], Panel],
    *,
    order: int = 100,
    kind: str = "day",
    action: str = VIEW_DASHBOARD,
    anything: Callable[[Acting], Question] | None = None,
) -> None:
    if kind not in ("day", "attention"):
        raise ValueError(f"Unknown panel kind {kind!r}.")
    if anything is not None and kind != "attention":
        raise ValueError("Only an attention panel is skipped when it has nothing.")
    _check_action(action)
    registry.panels[key] = TodayPanel(
        key=key,
        title=title,
        build=build,
        order=order,
        kind=kind,
        action=action,
        anything=anything,
    )


def register_setup_step(
    key: str,
    title: str,
    *,
    text: str,
    url: Callable[[], str],
    done: Callable[[Business], bool | Question],
    order: int = 100,
    action: str = VIEW_DASHBOARD,
) -> None:
    _check_action(action)
    registry.setup[key] = SetupStep(
        key=key, title=title, text=text, url=url, done=done, order=order, action=action
    )


def register_extension(slot: str, fn: Callable[..., Any], *, order: int = 100) -> None:
    entries = registry.extensions.setdefault(slot, [])
    name = f"{fn.__module__}.{fn.__qualname__}"
    entries[:] = [(o, f) for o, f in entries if f"{f.__module__}.{f.__qualname__}" != name]
    entries.append((order, fn))
    entries.sort(key=lambda entry: entry[0])


def extensions(slot: str) -> list[Callable[..., Any]]:
    return [fn for _, fn in registry.extensions.get(slot, [])]


def nav_entries() -> list[NavEntry]:
    return sorted(registry.nav.values(), key=lambda entry: (entry.order, entry.label))


def today_panels() -> list[TodayPanel]:
    return sorted(registry.panels.values(), key=lambda panel: (panel.order, panel.key))


def setup_steps() -> list[SetupStep]:
    return sorted(registry.setup.values(), key=lambda step: (step.order, step.key))


def setup_done(business: Business, steps: list[SetupStep]) -> list[bool]:
    """Whether each step is done: the answers that are `Q`s in one query."""
    return asked_together(business, [step.done(business) for step in steps])


def today_asked(
    acting: Acting, panels: list[TodayPanel], steps: list[SetupStep]
) -> tuple[dict[str, bool], list[bool]]:
    """For Today, in one query: which of `panels` (those with `anything`) have
    something to show, by key, and whether each setup step is done. Should a panel's
    question fail, every panel is built as if it had something (its own failure then
    shows on its panel) and the steps are asked alone."""
    answers: list[bool | Question] = [step.done(acting.business) for step in steps]
    try:
        keyed = [(spec.key, spec.anything(acting)) for spec in panels if spec.anything]
        found = asked_together(acting.business, answers + [q for _, q in keyed])
    except Exception:
        logger.exception("Asking Today's panels together failed")
        return {}, asked_together(acting.business, answers)
    return (
        {key: has for (key, _), has in zip(keyed, found[len(steps) :], strict=True)},
        found[: len(steps)],
    )


def exists_sql(sql: str, params: Sequence[Any]) -> RawSQL:
    """A question for `asked_together`: whether the SELECT `sql` finds a row. Today
    asks its questions on every visit, and a `Q` over `Exists(...)` costs more to
    build than to answer (properties.dashboard.reads)."""
    # Callers pass constant SQL; the values are parameters.
    return RawSQL(f"EXISTS ({sql})", tuple(params), output_field=BooleanField())  # noqa: S611


def asked_together(business: Business, answers: list[bool | Question]) -> list[bool]:
    """Each answer as a bool: the questions (`Q`s over `Exists(...)`, `exists_sql`)
    asked in one query, a single row of the business with one column each."""
    from properties.models import Business as BusinessModel

    asked = {
        f"q_{i}": (
            answer
            if isinstance(answer, RawSQL)
            else ExpressionWrapper(answer, output_field=BooleanField())
        )
        for i, answer in enumerate(answers)
        if not isinstance(answer, bool)
    }
    row: dict[str, Any] = {}
    if asked:
        row = dict(BusinessModel.objects.filter(pk=business.pk).values(**asked).get())
    return [
        bool(answer) if isinstance(answer, bool) else bool(row[f"q_{i}"])
        for i, answer in enumerate(answers)
    ]


def url_patterns() -> list[URLPattern]:
    """The registered pages, each behind the dashboard's access check."""
    from properties.dashboard.access import dashboard_view

    return [
        path(page.route, dashboard_view(page.view, action=page.action), name=page.name)
        for page in registry.pages.values()
    ]
