"""What a customer is paying, and for how much: the rules of the pay page, for every door.

The portal, a future REST API and autopay all start a payment the same way: the customer's open
invoices of one currency, either all of them, the ones picked, a plan installment, or a free amount
no larger than what is due. Ids of another customer's or another tenant's invoices are simply left
out (the queries go through the tenant's scope and the customer's own rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.collections.plans import customer_installment
from recaudo.core.common.jsonfield import loads
from recaudo.core.tables import Invoice, PaymentPlan, PlanInstallment
from recaudo.tenants.scoped import TenantScope

NOTHING_PICKED = "Selecciona al menos una factura."


class UnknownInstallment(LookupError):
    """The installment is not one of this customer's plans (answered 404)."""


class SelectionError(ValueError):
    """The selection cannot be paid as asked; ``field`` names the form field at fault."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Selection:
    """What the customer is paying: invoices, a free amount, or a plan installment."""

    mode: str  # invoices | amount | installment
    currency: str
    invoices: list[Invoice] = field(default_factory=list)
    amount: int | None = None  # fixed amount (installment), else the invoices' balance
    installment: PlanInstallment | None = None
    plan: PaymentPlan | None = None
    balance_due: int = 0
    choices: list[Invoice] = field(default_factory=list)  # to pick from when none was picked

    @property
    def total(self) -> int | None:
        if self.amount is not None:
            return self.amount
        return sum(i.balance for i in self.invoices) if self.invoices else None

    @property
    def invoice_ids(self) -> list[int]:
        return [int(i.id) for i in self.invoices]


async def open_invoices(scope: TenantScope, customer_id: int) -> list[Invoice]:
    return await (
        scope.objects(Invoice)
        .where(Invoice.customer == customer_id, Invoice.status.is_in(list(OPEN_STATUSES)))
        .order_by(Invoice.due_date, Invoice.id)
    )


def _json_list(value: Any) -> list[Any]:
    data = loads(value, [])
    return data if isinstance(data, list) else []


async def select(
    scope: TenantScope,
    customer_id: int,
    default_currency: str,
    *,
    installment_id: int | None = None,
    everything: bool = False,
    invoice_ids: list[int] | None = None,
    picking: bool = False,
) -> Selection:
    """The selection asked for: an installment, every open invoice, the ``invoice_ids`` picked
    (``picking``: the customer pressed "pay selected", even with nothing ticked), else a free
    amount. Only open invoices with a balance, in the currency of the oldest, are payable."""
    open_rows = [r for r in await open_invoices(scope, customer_id) if r.balance > 0]
    currency = open_rows[0].currency if open_rows else default_currency
    same = [r for r in open_rows if r.currency == currency]
    due = sum(r.balance for r in same)
    if installment_id is not None:
        found = await customer_installment(scope, customer_id, installment_id)
        if found is None:
            raise UnknownInstallment("Cuota no encontrada")
        plan, row = found
        covered = {int(i) for i in _json_list(plan.invoice_ids) if str(i).isdigit()}
        left = int(row.amount) - int(row.amount_paid)
        return Selection(
            "installment",
            str(plan.currency),
            [r for r in same if int(r.id) in covered],
            amount=max(left, 0),
            installment=row,
            plan=plan,
            balance_due=due,
        )
    if everything:
        return Selection("invoices", currency, same, balance_due=due)
    if invoice_ids or picking:
        by_id = {int(r.id): r for r in same}
        picked = [by_id[i] for i in invoice_ids or [] if i in by_id]
        return Selection(
            "invoices", currency, picked, balance_due=due, choices=[] if picked else same
        )
    return Selection("amount", currency, [], balance_due=due)


def amount_to_charge(selection: Selection, typed: int | None = None) -> int | None:
    """The amount a payment for ``selection`` takes (``None``: the invoices' balance).

    ``typed`` is the amount the customer wrote, read only for a free-amount selection. Raises
    :class:`SelectionError` with the message the customer reads.
    """
    if selection.mode == "amount":
        if typed is None or typed <= 0:
            raise SelectionError("El monto debe ser mayor que cero.", "monto")
        if typed > selection.balance_due:
            raise SelectionError("El monto es mayor que tu saldo pendiente.", "monto")
        return typed
    if selection.mode == "invoices" and not selection.invoices:
        raise SelectionError(NOTHING_PICKED)
    if selection.mode == "installment" and not selection.amount:
        raise SelectionError("Esta cuota ya está pagada.")
    return selection.amount
