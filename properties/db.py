"""Database mechanisms every app shares: row locks, claiming due rows, inserting a row
unless its unique key exists, retrying a transaction that lost a deadlock, and waking a
task once a transaction commits.

They live at the bottom of the dependency order so that `bookings`, `messaging` and
`integrations` use one implementation each, and they refuse misuse loudly (a lock
outside a transaction would be released at once and protect nothing).

    with transaction.atomic():
        prop = lock_one(Property.objects.filter(pk=property_id))
        ...

    rows = claim_due(table="messaging_scheduledmessage",
                     where="state = 'scheduled' AND send_at <= %(now)s",
                     order_by="priority, send_at, id", now=now, limit=500, lease_until=...)
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from django.db import DatabaseError, connection, transaction
from django.db.models import Model, QuerySet
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Model)
P = ParamSpec("P")
R = TypeVar("R")

# SQLSTATEs that mean "this transaction lost a race; the same work may succeed again".
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock, serialization failure


class LockOutsideTransaction(RuntimeError):
    """A row lock was asked for outside `transaction.atomic()`: it would protect nothing."""


def require_transaction() -> None:
    if not connection.in_atomic_block:
        raise LockOutsideTransaction(
            "Row locks are held until the transaction ends; call this inside transaction.atomic()."
        )


def _for_update(queryset: QuerySet[M], *, skip_locked: bool) -> QuerySet[M]:
    # `of=("self",)`: never lock joined rows (locking a property must not lock its
    # business). `no_key=True` (FOR NO KEY UPDATE) does not conflict with the
    # FOR KEY SHARE locks that foreign-key checks take, so inserting a row that points
    # at the locked row elsewhere never waits on it, and never deadlocks with it.
    return queryset.select_for_update(of=("self",), no_key=True, skip_locked=skip_locked)


def lock_one(queryset: QuerySet[M], **lookup: Any) -> M:
    """Lock and return the one row `queryset.get(**lookup)` finds (raises DoesNotExist)."""
    require_transaction()
    return _for_update(queryset, skip_locked=False).get(**lookup)


def lock_all(queryset: QuerySet[M], *, skip_locked: bool = False) -> list[M]:
    """Lock every row of `queryset`, in primary-key order so that two lockers of
    overlapping sets always queue instead of deadlocking."""
    require_transaction()
    return list(_for_update(queryset, skip_locked=skip_locked).order_by("pk"))


def claim_due(
    *,
    table: str,
    where: str,
    order_by: str,
    now: datetime,
    limit: int,
    lease_until: datetime,
    params: Mapping[str, Any] | None = None,
    returning: Sequence[str] = ("id",),
) -> list[tuple[Any, ...]]:
    """Claim up to `limit` rows of `table` matching `where`, in `order_by` order, by
    setting their `claimed_until` lease; returns the `returning` columns of each.

    `FOR UPDATE SKIP LOCKED` lets any number of claimers (two beats during a deploy,
    several dispatchers) run at once without waiting on or double-claiming each other's
    rows. The lease keeps a claimed row from being handed out again until its work had
    time to run; a row whose worker vanished is claimed again once the lease runs out.
    `where` and `order_by` are SQL written in code, never input; `where` may use
    `%(now)s`, and further values go in `params`.
    """
    columns = ", ".join(f"t.{name}" for name in returning)
    sql = f"""
        WITH due AS (
            SELECT id FROM {table}
            WHERE ({where})
              AND (claimed_until IS NULL OR claimed_until < %(now)s)
            ORDER BY {order_by}
            LIMIT %(claim_limit)s
            FOR UPDATE SKIP LOCKED
        )
        UPDATE {table} AS t SET claimed_until = %(claim_lease)s
        FROM due WHERE t.id = due.id
        RETURNING {columns}
    """  # noqa: S608 - identifiers and clauses come from code, values are parameters
    values = {**(params or {}), "now": now, "claim_limit": limit, "claim_lease": lease_until}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, values)
        return [tuple(row) for row in cursor.fetchall()]


def insert_unless_exists(obj: M) -> bool:
    """INSERT `obj` unless a row with the same unique key exists: one statement, no
    savepoint (`INSERT ... ON CONFLICT DO NOTHING RETURNING id`). Returns True and sets
    its primary key when inserted. A concurrent inserter of the same key makes this one
    wait for its transaction, then do nothing, like a UNIQUE violation without the
    error. Only for models with an auto primary key."""
    model = type(obj)
    pk = model._meta.pk
    assert pk is not None
    assert pk.column is not None
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
    query.insert_values([f for f in model._meta.concrete_fields if f is not pk], [obj])
    ((sql, params),) = query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {connection.ops.quote_name(pk.column)}", params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return True


def sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE behind a Django database error, if any."""
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None)


def retry_on_conflict(
    attempts: int = 3, *, base_delay: float = 0.02
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a function that opens its own transaction again when it loses a deadlock or a
    serialization failure (the database rolled it back whole, so running it again is
    safe). Other errors, and the last failure, propagate. Must wrap the outermost
    transaction: inside an enclosing atomic block a retry could not undo the loss."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            if connection.in_atomic_block:
                return func(*args, **kwargs)  # the outer transaction owns retries
            for attempt in range(1, attempts + 1):
                try:
                    return func(*args, **kwargs)
                except DatabaseError as exc:
                    if sqlstate(exc) not in RETRYABLE_SQLSTATES or attempt == attempts:
                        raise
                    log.info("%s lost a lock race (%s); retrying", func.__qualname__, exc)
                    time.sleep(base_delay * attempt * (1 + random.random()))  # noqa: S311
            raise AssertionError("unreachable")

        return run

    return decorate


def after_commit(task: Callable[[], Any], *, what: str) -> None:
    """Call `task` (usually a Celery `.delay`) once the current transaction commits, or
    now in autocommit. A failure to enqueue is logged, never raised: every caller has a
    periodic sweep that picks the work up from its row anyway."""

    def run() -> None:
        try:
            task()
        except Exception:
            log.warning("Could not wake %s; the periodic sweep will", what, exc_info=True)

    transaction.on_commit(run, robust=True)
