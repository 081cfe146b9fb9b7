"""Tenant-scoped data access: the only way application code reads or writes tenant-owned rows.

``TenantScope(tenant_id)`` hands out Piccolo queries that already carry ``WHERE tenant = …`` and
fills the tenant on insert, so forgetting the filter is not possible by accident. Code that
really needs every tenant (the outbox relay, migrations) says so with :func:`unscoped`, which is
easy to grep and to review. ``tests/test_isolation.py`` enforces both rules.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar

from piccolo.query import Objects, Select
from piccolo.query.methods.count import Count
from piccolo.query.methods.delete import Delete
from piccolo.query.methods.exists import Exists
from piccolo.query.methods.update import Update
from piccolo.querystring import QueryString
from piccolo.table import Table

from recaudo.tenants.models import Tenant, TenantOwned

T = TypeVar("T", bound=Table)
# Primary and foreign keys are SERIAL/INTEGER: 32-bit on PostgreSQL. A bigger number can name no
# row, and binding it to a query fails ("value out of int32 range") instead of finding nothing.
MAX_ID = 2**31 - 1


def as_id(value: Any) -> int | None:
    """``value`` as a row id, or ``None`` when it cannot name a row (junk, ≤ 0, beyond a key)."""
    if isinstance(value, bool | float):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()) or len(value) > 10:
            return None
    try:
        pk = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return pk if 0 < pk <= MAX_ID else None


class CrossTenantError(LookupError):
    """A row of another tenant was handed to a scope."""


def _check(table: type[Table]) -> None:
    if not issubclass(table, TenantOwned):
        raise TypeError(f"{table.__name__} is not tenant-owned; use it directly")


class TenantScope:
    """Queries limited to one tenant's rows."""

    __slots__ = ("tenant_id",)

    def __init__(self, tenant_id: int) -> None:
        if not isinstance(tenant_id, int) or tenant_id <= 0:
            raise ValueError("a tenant scope needs a tenant id")
        self.tenant_id = tenant_id

    def __repr__(self) -> str:
        return f"TenantScope({self.tenant_id})"

    def _where(self, table: type[Table]) -> Any:
        _check(table)
        return table.tenant == self.tenant_id  # type: ignore[attr-defined]

    def select(self, table: type[T], *columns: Any) -> Select:
        return table.select(*columns).where(self._where(table))

    def objects(self, table: type[T]) -> Objects:
        return table.objects().where(self._where(table))

    def count(self, table: type[T]) -> Count:
        return table.count().where(self._where(table))

    def exists(self, table: type[T]) -> Exists:
        return table.exists().where(self._where(table))

    def update(self, table: type[T], values: dict[Any, Any]) -> Update:
        return table.update(values).where(self._where(table))

    def delete(self, table: type[T]) -> Delete:
        return table.delete().where(self._where(table))

    async def get(self, table: type[T], row_id: Any) -> T | None:
        """The row with ``row_id`` if it belongs to this tenant, else ``None`` (never another's)."""
        pk = as_id(row_id)
        if pk is None:
            return None  # no such row, and PostgreSQL would refuse the number anyway
        return await self.objects(table).where(table._meta.primary_key == pk).first()

    async def raw(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Hand-written SQL for the few hot reads where building a Piccolo query costs more than
        running it (the customer behind a session cookie, the statement's account stamp).

        ``{tenant}`` stands for this scope's tenant and must filter every tenant-owned table the
        SQL reads; other values are ``{}`` placeholders bound in order, never formatted in.
        """
        return [dict(row) for row in await self._run_raw(sql, args)]

    async def _run_raw(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        """Bind ``{tenant}`` and the ``{}`` values of ``sql`` and run it (see :meth:`raw`)."""
        template, order = _raw_template(sql)
        if order.count("") != len(args):
            raise ValueError(f"{order.count('')} {{}} placeholders, {len(args)} values")
        values = iter(args)
        bound = [self.tenant_id if name == "tenant" else next(values) for name in order]
        return list(await Tenant._meta.db.run_querystring(QueryString(template, *bound)))

    async def raw_rows(self, sql: str, *args: Any) -> list[Sequence[Any]]:
        """:meth:`raw` with each row as a sequence in column order, not a dict: for the reads of a
        million rows (the reconciliation book) where a dict per row costs more than the query."""
        rows = await self._run_raw(sql, args)
        return [tuple(row.values()) if isinstance(row, dict) else row for row in rows]

    async def add(self, *rows: T) -> list[T]:
        """Insert rows for this tenant; a row that names another tenant is refused."""
        for row in rows:
            _check(type(row))
            current = getattr(row, "tenant", None)
            if current not in (None, self.tenant_id):
                raise CrossTenantError(f"row names tenant {current}, scope is {self.tenant_id}")
            row.tenant = self.tenant_id  # type: ignore[attr-defined]
        if rows:
            await type(rows[0]).insert(*rows).run()
        return list(rows)

    async def add_unless_exists(self, row: T) -> int | None:
        """Insert ``row`` unless it collides with a unique index; returns the new id or ``None``.

        The database decides (``ON CONFLICT DO NOTHING``), so concurrent duplicates are safe.
        """
        table = type(row)
        _check(table)
        current = getattr(row, "tenant", None)
        if current not in (None, self.tenant_id):
            raise CrossTenantError(f"row names tenant {current}, scope is {self.tenant_id}")
        row.tenant = self.tenant_id  # type: ignore[attr-defined]
        inserted = (
            await table.insert(row)
            .on_conflict(action="DO NOTHING")
            .returning(table._meta.primary_key)
        )
        return int(inserted[0][table._meta.primary_key._meta.name]) if inserted else None

    async def add_new(self, *rows: T, returning: tuple[Any, ...]) -> list[dict[str, Any]]:
        """Insert rows for this tenant in one statement, skipping those that collide with a
        unique index (``ON CONFLICT DO NOTHING``); the ``returning`` columns of those inserted.

        For batches whose duplicates are expected (statement lines seen in an earlier file)."""
        if not rows:
            return []
        table = type(rows[0])
        for row in rows:
            if type(row) is not table:
                raise TypeError("add_new takes rows of one table")
            _check(table)
            current = getattr(row, "tenant", None)
            if current not in (None, self.tenant_id):
                raise CrossTenantError(f"row names tenant {current}, scope is {self.tenant_id}")
            row.tenant = self.tenant_id  # type: ignore[attr-defined]
        query = table.insert(*rows).on_conflict(action="DO NOTHING").returning(*returning)
        return [dict(r) for r in await query]

    async def save(self, row: T) -> T:
        """Save an existing row of this tenant."""
        _check(type(row))
        if getattr(row, "tenant", None) != self.tenant_id:
            raise CrossTenantError("row belongs to another tenant")
        await row.save().run()
        return row


@lru_cache(maxsize=256)
def _raw_template(sql: str) -> tuple[str, tuple[str, ...]]:
    """``… {tenant} … {}`` → Piccolo's ``{}`` template and which value each placeholder takes."""
    parts: list[str] = []
    order: list[str] = []
    for text, field, spec, conversion in string.Formatter().parse(sql):
        if "{" in text or "}" in text:
            raise ValueError("literal braces are not supported; pass the value as {}")
        parts.append(text)
        if field is None:
            continue
        if field not in ("", "tenant") or spec or conversion:
            raise ValueError(f"only {{tenant}} and {{}} placeholders are allowed, not {{{field}}}")
        parts.append("{}")
        order.append(field)
    if "tenant" not in order:
        raise ValueError("hand-written SQL must filter on {tenant}")
    return "".join(parts), tuple(order)


def unscoped(table: type[T]) -> type[T]:
    """Explicitly bypass tenant scoping (platform jobs only). Greppable on purpose."""
    return table
