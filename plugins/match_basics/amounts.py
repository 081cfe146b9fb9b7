"""``amount_date_customer``: the amount is what one invoice (or one customer) owes, about then.

Without a number or reference the amount is the only clue. Amounts repeat (a monthly fee is the
same for hundreds of customers), so this rule is never sure on its own: one invoice due within the
tenant's window (± days of the booking date) with exactly that balance is a medium proposal the
tenant may choose to apply; several are listed for review, and another rule agreeing (the payer's
name, say) raises the confidence.
"""

from __future__ import annotations

from recaudo.api import MatchBook, MatchCandidate, MatchRule, PluginContext, StatementLine

from .text import money

UNIQUE = 0.75  # the only invoice in the window with this balance
SHARED = 0.45  # one of several
NEAR = 0.6  # the only one, a bank fee (within the tolerance) short of the balance
NEAR_SHARED = 0.3
MAX_ANSWERS = 5


class AmountDateCustomer(MatchRule):
    name = "amount_date_customer"
    label = "Importe y fecha de vencimiento"

    def candidates(
        self, ctx: PluginContext, line: StatementLine, book: MatchBook
    ) -> list[MatchCandidate]:
        days = book.date_window_days
        items = book.invoices_with_balance(line.amount, line.booked_on, days, MAX_ANSWERS)
        exact = [i for i in items if i.balance == line.amount]
        # The same balance exactly beats one a bank fee away: those count only without it.
        ranked = exact or items
        if not ranked or len(ranked) > MAX_ANSWERS:
            return []  # a common amount: a list of guesses helps nobody
        out = []
        for item in ranked[:MAX_ANSWERS]:
            if item.balance == line.amount:
                confidence = UNIQUE if len(exact) == 1 else SHARED
                how = "igual al saldo"
            else:
                confidence = NEAR if len(ranked) == 1 else NEAR_SHARED
                how = f"{money(item.balance - line.amount, line.currency)} menos que el saldo"
            due = item.due_date.isoformat() if item.due_date else "sin fecha"
            reason = (
                f"Importe {money(line.amount, line.currency)} {how} de la factura "
                f"{item.number} (vence {due}, ±{days} días)"
            )
            if len(ranked) > 1:
                reason += f"; hay {len(ranked)} facturas así"
            out.append(
                MatchCandidate(
                    self.name,
                    confidence,
                    item.customer_id,
                    ((item.invoice_id, item.balance),),
                    reason + ".",
                )
            )
        return out
