"""The back office's lists of customers and invoices: search, filters, pages.

Set-based: one query per page. The customer list joins each customer's open balance (and the
part of it past due) from one grouped subquery over ``invoice``, not a query per row. Search is
case-insensitive on both databases: ``lower(column) LIKE lower(term)`` (PostgreSQL folds every
letter; SQLite's ``lower`` folds ASCII only, so the term as typed is also tried as is). ``%`` and
``_`` typed by a user match themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from recaudo.core.billing.customers import tags_of
from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.common.atomic import is_postgres
from recaudo.core.tables import INVOICE_STATUSES, Customer, Invoice
from recaudo.tenants.scoped import TenantScope, as_id

PAGE_SIZE = 50
MAX_QUERY = 100


def like_pattern(term: str) -> str:
    """``%term%`` with LIKE's wildcards escaped (``ESCAPE '\\'``)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _page(value: object) -> int:
    number = as_id(value)
    return min(number, 10_000) if number else 1


@dataclass(frozen=True)
class CustomerFilters:
    q: str = ""
    has_balance: bool = False
    overdue: bool = False
    segment: str = ""
    tag: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, params: Any) -> CustomerFilters:
        return cls(
            q=str(params.get("q") or "").strip()[:MAX_QUERY],
            has_balance=params.get("saldo") in ("1", "on", "true"),
            overdue=params.get("vencido") in ("1", "on", "true"),
            segment=" ".join(str(params.get("segmento") or "").split())[:40],
            tag=" ".join(str(params.get("etiqueta") or "").split()).lower()[:30],
            page=_page(params.get("pagina")),
        )

    def query(self, page: int | None = None) -> dict[str, str]:
        """The filters as query parameters (for pager links)."""
        out = {
            "q": self.q,
            "saldo": "1" if self.has_balance else "",
            "vencido": "1" if self.overdue else "",
            "segmento": self.segment,
            "etiqueta": self.tag,
            "pagina": str(page or self.page),
        }
        return {k: v for k, v in out.items() if v and not (k == "pagina" and v == "1")}


@dataclass(frozen=True)
class CustomerRow:
    id: int
    number: str
    name: str
    email: str
    phone: str
    tax_id: str
    segment: str
    tags: tuple[str, ...]
    currency: str
    balance: int
    overdue: int


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    page: int
    has_next: bool
    filters: Any = field(default=None)

    @property
    def has_previous(self) -> bool:
        return self.page > 1


CUSTOMER_SQL = """
SELECT c.id, c.number, c.name, c.email, c.phone, c.tax_id, c.segment, c.tags,
       COALESCE(b.balance, 0) AS balance, COALESCE(b.overdue, 0) AS overdue
FROM customer c
LEFT JOIN (
    SELECT i.customer AS customer,
           SUM(i.total - i.amount_applied) AS balance,
           SUM(CASE WHEN i.due_date < {} THEN i.total - i.amount_applied ELSE 0 END) AS overdue
    FROM invoice i
    WHERE i.tenant = {tenant} AND i.currency = {} AND i.status IN ('open', 'partially_paid')
    GROUP BY i.customer
) b ON b.customer = c.id
WHERE c.tenant = {tenant}"""


async def customer_page(
    scope: TenantScope,
    filters: CustomerFilters,
    today: date,
    currency: str,
    page_size: int = PAGE_SIZE,
) -> Page:
    """A page of customers, by name, with their open balance in ``currency`` (the tenant's)."""
    sql = CUSTOMER_SQL
    args: list[Any] = [today, currency]
    if filters.q:
        term = filters.q
        compact = re.sub(r"[^0-9A-Za-z]", "", term)
        parts = []
        for column in ("c.name", "c.number", "c.email", "c.tax_id"):
            parts.append(f"lower({column}) LIKE {{}} ESCAPE '\\'")
            args.append(like_pattern(term.lower()))
            parts.append(f"{column} LIKE {{}} ESCAPE '\\'")
            args.append(like_pattern(term))
        if compact and compact != term:
            parts.append("lower(c.tax_id) LIKE {} ESCAPE '\\'")
            args.append(like_pattern(compact.lower()))
        sql += " AND (" + " OR ".join(parts) + ")"
    if filters.has_balance:
        sql += " AND COALESCE(b.balance, 0) > 0"
    if filters.overdue:
        sql += " AND COALESCE(b.overdue, 0) > 0"
    if filters.segment:
        sql += " AND lower(c.segment) = {}"
        args.append(filters.segment.lower())
    if filters.tag:
        sql += " AND c.tags LIKE {} ESCAPE '\\'"
        args.append(like_pattern(f",{filters.tag},"))
    sql += " ORDER BY c.name, c.id LIMIT {} OFFSET {}"
    args += [page_size + 1, (filters.page - 1) * page_size]
    rows = await scope.raw(sql, *args)
    items = [
        CustomerRow(
            id=int(r["id"]),
            number=str(r["number"]),
            name=str(r["name"]),
            email=str(r["email"] or ""),
            phone=str(r["phone"] or ""),
            tax_id=str(r["tax_id"] or ""),
            segment=str(r["segment"] or ""),
            tags=tags_of(r),
            currency=currency,
            balance=int(r["balance"] or 0),
            overdue=int(r["overdue"] or 0),
        )
        for r in rows[:page_size]
    ]
    return Page(items, filters.page, len(rows) > page_size, filters)


async def segments(scope: TenantScope) -> list[str]:
    """The segments in use, for the filter's choices."""
    rows = await (
        scope.select(Customer, Customer.segment)
        .where(Customer.segment != "")
        .distinct()
        .order_by(Customer.segment)
        .limit(200)
    )
    return [str(r["segment"]) for r in rows]


# --- invoices -----------------------------------------------------------------------------------

INVOICE_FILTER_STATUSES = (*INVOICE_STATUSES, "overdue")


@dataclass(frozen=True)
class InvoiceFilters:
    status: str = ""  # one of INVOICE_STATUSES, "overdue" or "" (all)
    customer: int | None = None
    customer_number: str = ""  # a customer's number typed in the filter form
    due_from: date | None = None
    due_to: date | None = None
    q: str = ""  # number
    page: int = 1
    problems: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, params: Any) -> InvoiceFilters:
        problems: list[str] = []
        status = str(params.get("estado") or "")
        if status not in INVOICE_FILTER_STATUSES:
            if status:
                problems.append("estado")
            status = ""

        def day(name: str) -> date | None:
            text = str(params.get(name) or "").strip()
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                problems.append(name)
                return None

        raw_customer = params.get("cliente")
        customer = as_id(raw_customer) if raw_customer else None
        if raw_customer and customer is None:
            problems.append("cliente")
        return cls(
            status=status,
            customer=customer,
            due_from=day("desde"),
            due_to=day("hasta"),
            q=str(params.get("q") or "").strip()[:MAX_QUERY],
            customer_number=str(params.get("numero_cliente") or "").strip()[:64],
            page=_page(params.get("pagina")),
            problems=tuple(problems),
        )

    def query(self, page: int | None = None) -> dict[str, str]:
        out = {
            "estado": self.status,
            "cliente": str(self.customer) if self.customer else "",
            "numero_cliente": self.customer_number,
            "desde": self.due_from.isoformat() if self.due_from else "",
            "hasta": self.due_to.isoformat() if self.due_to else "",
            "q": self.q,
            "pagina": str(page or self.page),
        }
        return {k: v for k, v in out.items() if v and not (k == "pagina" and v == "1")}


@dataclass(frozen=True)
class InvoiceRow:
    id: int
    number: str
    customer_id: int
    customer_name: str
    customer_number: str
    issue_date: date
    due_date: date
    currency: str
    total: int
    balance: int
    status: str
    disputed: bool
    overdue: bool


async def invoice_page(
    scope: TenantScope, filters: InvoiceFilters, today: date, page_size: int = PAGE_SIZE
) -> Page:
    """A page of invoices, newest due date first."""
    where: list[Any] = []
    if filters.status == "overdue":
        where += [Invoice.status.is_in(list(OPEN_STATUSES)), Invoice.due_date < today]
    elif filters.status:
        where.append(Invoice.status == filters.status)
    if filters.customer:
        where.append(Invoice.customer == filters.customer)
    if filters.customer_number:
        where.append(Invoice.customer.number == filters.customer_number)
    if filters.due_from:
        where.append(Invoice.due_date >= filters.due_from)
    if filters.due_to:
        where.append(Invoice.due_date <= filters.due_to)
    if filters.q:
        pattern = like_pattern(filters.q)
        # SQLite's LIKE already ignores ASCII case (and has no ILIKE); PostgreSQL's does not.
        where.append(
            Invoice.number.ilike(pattern) if is_postgres() else Invoice.number.like(pattern)
        )
    query = scope.select(
        Invoice,
        Invoice.id,
        Invoice.number,
        Invoice.customer,
        Invoice.customer.name.as_alias("customer_name"),
        Invoice.customer.number.as_alias("customer_number"),
        Invoice.issue_date,
        Invoice.due_date,
        Invoice.currency,
        Invoice.total,
        Invoice.amount_applied,
        Invoice.status,
        Invoice.disputed,
    )
    if where:
        query = query.where(*where)
    rows = await (
        query.order_by(Invoice.due_date, ascending=False)
        .order_by(Invoice.id, ascending=False)
        .limit(page_size + 1)
        .offset((filters.page - 1) * page_size)
    )
    items = [
        InvoiceRow(
            id=int(r["id"]),
            number=str(r["number"]),
            customer_id=int(r["customer"]),
            customer_name=str(r["customer_name"]),
            customer_number=str(r["customer_number"]),
            issue_date=r["issue_date"],
            due_date=r["due_date"],
            currency=str(r["currency"]),
            total=int(r["total"]),
            balance=0 if r["status"] == "void" else int(r["total"]) - int(r["amount_applied"]),
            status=str(r["status"]),
            disputed=bool(r["disputed"]),
            overdue=r["status"] in OPEN_STATUSES and r["due_date"] < today,
        )
        for r in rows[:page_size]
    ]
    return Page(items, filters.page, len(rows) > page_size, filters)


async def customer_balances(
    scope: TenantScope, customer_id: int, today: date
) -> list[dict[str, Any]]:
    """Open balance and overdue part per currency: ``[{currency, balance, overdue, count}]``."""
    rows = await scope.select(
        Invoice, Invoice.currency, Invoice.total, Invoice.amount_applied, Invoice.due_date
    ).where(Invoice.customer == customer_id, Invoice.status.is_in(list(OPEN_STATUSES)))
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = out.setdefault(
            str(r["currency"]),
            {"currency": str(r["currency"]), "balance": 0, "overdue": 0, "count": 0},
        )
        owed = int(r["total"]) - int(r["amount_applied"])
        entry["balance"] += owed
        entry["count"] += 1
        if r["due_date"] < today:
            entry["overdue"] += owed
    return sorted(out.values(), key=lambda e: str(e["currency"]))
