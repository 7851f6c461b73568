"""Read helpers for the apps' dashboard selectors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connection
from django.db.models import Count, Field, Model, QuerySet, Window

if TYPE_CHECKING:
    from properties.permissions import Scope

M = TypeVar("M", bound=Model)


def first_with_total(rows: QuerySet[M], limit: int) -> tuple[list[M], int]:
    """The first `limit` of `rows` and how many there are in all, in one query: the
    total is a window count (`COUNT(*) OVER ()`), computed before the limit applies.
    A Today panel shows a few items and says how many more there are."""
    found: list[Any] = list(rows.annotate(_total=Window(Count("pk")))[:limit])
    total = found[0]._total if found else 0
    return found, total


# --- Today's reads in SQL -------------------------------------------------------------------
#
# Today is the page every member opens first, and its panels ask a dozen small
# questions. Asked through the ORM, building and compiling each question costs several
# times what PostgreSQL takes to answer it (tests/bench/test_dashboard_bench.py), so
# Today's panels ask theirs in SQL, each in one statement of the few columns it shows,
# with `business_id` and the member's scope in every WHERE. Ids are bigints, and so are
# their parameters (`%(business)s::bigint`, `%(ids)s::bigint[]`): a plain literal is an
# integer, and the GiST indexes (btree_gist) have no integer = bigint operator, so an
# uncast id leaves the (business, stay) and (property, stay) indexes' first column
# unused.


def scope_sql(scope: Scope | None, *group_columns: str) -> tuple[str, dict[str, Any]]:
    """A condition to AND into a WHERE that keeps the rows of `scope`: those whose
    property's group (any of `group_columns`, e.g. "p.group_id") is one of the scope's
    groups; TRUE for the whole business. Its parameter is `%(scope_groups)s`."""
    if scope is None or scope.group_ids is None:
        return "TRUE", {}
    either = " OR ".join(f"{column} = ANY(%(scope_groups)s::bigint[])" for column in group_columns)
    return f"({either})", {"scope_groups": sorted(scope.group_ids)}


def sql_rows(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a statement of Today's, each a dict by column name. An array
    parameter carries its type (`%(ids)s::bigint[]`): an empty list has none."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _from_db(field: Field[Any, Any], value: Any) -> Any:
    """`value` as the ORM reads it into `field` (a JSON field parses its text)."""
    for convert in field.get_db_converters(connection):
        value = convert(value, None, connection)
    return value


def raw_first_with_total(
    model: type[M], sql: str, params: dict[str, Any], limit: int
) -> tuple[list[Any], int]:
    """`first_with_total` for a statement of Today's: `sql` selects `COUNT(*) OVER ()
    AS _total` and ends in `LIMIT %(limit)s`; rows come back as `model` instances
    holding only the columns selected, the others' as extra attributes (so typed
    `Any`: the selector names them)."""
    found: list[Any] = list(model._default_manager.raw(sql, {**params, "limit": limit}))
    total = found[0]._total if found else 0
    return found, total


def columns(model: type[Model], alias: str, prefix: str = "", only: tuple[str, ...] = ()) -> str:
    """The columns of `model`'s table (every one, or the fields named in `only`) as
    `alias`.column, named `prefix` + column, for a SELECT whose rows `.raw()` and
    `related_from` turn into instances (`prefix` "" for the rows' own model)."""
    return ", ".join(
        f"{alias}.{f.column} AS {prefix}{f.attname}"
        for f in model._meta.concrete_fields
        if not only or f.name in only or f.attname in only
    )


def with_related(rows: list[Any], attr: str, model: type[Model], prefix: str) -> None:
    """Give each raw row (a model instance from `raw_first_with_total` or `.raw()`)
    the related `model` instance its statement selected as columns named `prefix` +
    field (`p_id`, `p_name`...), as `select_related` would: `row.<attr>`, None when a
    LEFT JOIN found none (`prefix` + "id" is NULL). Fields not selected are deferred,
    so reading one costs a query rather than a wrong value."""
    for row in rows:
        attach(row, attr, related_from(row, model, prefix))


def attach(instance: Model, name: str, related: Model | None) -> None:
    """Cache `related` as `instance.<name>` (a foreign key, or the reverse side of a
    one-to-one), None included, as `select_related` leaves it: no query follows."""
    instance._meta.get_field(name).set_cached_value(instance, related)  # type: ignore[union-attr]


def related_from(row: Any, model: type[M], prefix: str) -> M | None:
    """The `model` instance a raw row selected as columns named `prefix` + field, or
    None when a LEFT JOIN found none (see `with_related`)."""
    if getattr(row, prefix + "id") is None:
        return None
    fields = [f for f in model._meta.concrete_fields if hasattr(row, prefix + f.attname)]
    return model.from_db(
        "default",
        [f.attname for f in fields],
        [_from_db(f, getattr(row, prefix + f.attname)) for f in fields],
    )
