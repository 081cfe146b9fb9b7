"""``payer_name``: the name the bank gives for the payer resembles a customer's.

Names are compared without accents, punctuation or company forms ("Álamo S.A. de C.V." is
"ALAMO"), with rapidfuzz's token_set_ratio. A name is a hint, not proof (namesakes, a relative
paying): the engine never applies it alone; when the amount pays that customer's invoices exactly
and another rule (amount and date) agrees, the two together can reach the threshold.
"""

from __future__ import annotations

from recaudo.api import MatchBook, MatchCandidate, MatchRule, PluginContext, StatementLine

from .text import money

FITS = 0.85  # a close name and the amount pays whole invoices of that customer
LOOSE = 0.4  # a close name, the amount does not fit
MIN_SCORE = 0.85
MAX_ANSWERS = 3


class PayerName(MatchRule):
    name = "payer_name"
    label = "Nombre del pagador"

    def candidates(
        self, ctx: PluginContext, line: StatementLine, book: MatchBook
    ) -> list[MatchCandidate]:
        if len(line.payer_name.strip()) < 3:
            return []
        out = []
        for customer_id, score in book.customers_named(line.payer_name)[:MAX_ANSWERS]:
            if score < MIN_SCORE:
                continue
            allocations, fit = book.allocate(customer_id, line.amount)
            if fit == "none":
                continue
            who = book.customer_name(customer_id)
            if fit in ("exact", "fee"):
                confidence = FITS * score
                reason = (
                    f"El pagador «{line.payer_name}» se parece a {who} ({score:.0%}); el importe "
                    f"{money(line.amount, line.currency)} paga facturas completas suyas."
                )
            else:
                confidence = LOOSE * score
                reason = (
                    f"El pagador «{line.payer_name}» se parece a {who} ({score:.0%}); el importe "
                    "no coincide con sus facturas."
                )
            out.append(
                MatchCandidate(self.name, round(confidence, 3), customer_id, allocations, reason)
            )
        return out
