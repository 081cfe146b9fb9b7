"""``invoice_number``: the invoice numbers a customer wrote in the transfer's concept.

Several numbers pay several invoices (N:1); an amount short of the balance pays part of it and
the next line may pay the rest (1:N, the book remembers). A number one typo away (a missing,
extra, wrong or swapped character; O/0 and l/1 are the same character anyway) is trusted only when
the amount confirms it: exactly one invoice that close has the balance paid.
"""

from __future__ import annotations

from recaudo.api import MatchBook, MatchCandidate, MatchRule, OpenItem, PluginContext, StatementLine

from .text import money, number_words

EXACT = 0.98  # the numbers written, the amount pays them (within the fee tolerance)
PARTIAL = 0.92  # the number written, the amount pays part of it
PARTIAL_SHORT = 0.7  # ... but the "number" is short and all digits: could be anything
OVER = 0.85  # the numbers written, the amount is more than they owe (the rest: credit)
TYPO = 0.9  # one typo away, and the only such invoice whose balance the amount pays
TYPO_SHARED = 0.6  # one typo away from several invoices the amount could pay
TYPO_LOOSE = 0.45  # one typo away, the amount does not fit
ALREADY_PAID = 0.5  # the number of an invoice paid already: a duplicate payment?
MAX_TYPO_ANSWERS = 5


def _distinctive(word: str) -> bool:
    """A number unlikely to appear by chance: has a letter or at least six characters."""
    return any(c.isalpha() for c in word) or len(word) >= 6


class InvoiceNumber(MatchRule):
    name = "invoice_number"
    label = "Número de factura en el concepto"

    def candidates(
        self, ctx: PluginContext, line: StatementLine, book: MatchBook
    ) -> list[MatchCandidate]:
        exact: dict[int, OpenItem] = {}
        written: dict[int, str] = {}
        missing: list[str] = []
        paid: dict[int, str] = {}
        for word in number_words(line):
            items = book.invoices_numbered(word)
            if len(items) == 1:
                exact.setdefault(items[0].invoice_id, items[0])
                written.setdefault(items[0].invoice_id, word)
            elif items:
                continue  # the same number in several places: not a clue
            elif (owner := book.customer_of_paid_invoice(word)) is not None:
                paid.setdefault(owner, word)
            elif any(c.isdigit() for c in word) and len(word) >= 4:
                missing.append(word)
        out: list[MatchCandidate] = []
        if exact:
            out += self._exact(line, book, list(exact.values()), written)
            fits = any(c.confidence >= EXACT for c in out)
            if fits:
                return out
            # The amount does not fit the numbers found: one of them may be a typo for an
            # invoice it does fit.
            missing += list(written.values())
        if paid and not exact:
            # Paying an invoice that is paid already: the customer's money, a person decides.
            return [
                MatchCandidate(
                    self.name,
                    ALREADY_PAID,
                    customer_id,
                    (),
                    f"La factura {word} del concepto ya está pagada: ¿pago duplicado? Quedaría "
                    "a favor del cliente.",
                )
                for customer_id, word in paid.items()
            ]
        fitting: dict[int, OpenItem] = {}
        for word in dict.fromkeys(missing):
            for item, _score in book.invoices_like(word, line.amount):
                fitting.setdefault(item.invoice_id, item)
        typo: dict[int, OpenItem] = {}
        if not fitting and not exact:
            for word in dict.fromkeys(missing):
                for item, _score in book.invoices_like(word, limit=MAX_TYPO_ANSWERS):
                    typo.setdefault(item.invoice_id, item)
        if exact and fitting:
            # The number written does not fit, a number one typo away does: a partial payment
            # or a typo, only a person can tell — unless the amount is rare in the book and
            # exactly one neighbour has it.
            out = [
                MatchCandidate(c.rule, min(c.confidence, TYPO_SHARED), c.customer_id,
                               c.allocations, c.reason)
                for c in out
            ]  # fmt: skip
            if len(fitting) == 1 and len(book.invoices_with_balance(line.amount, limit=2)) <= 2:
                [item] = fitting.values()
                out.append(self._one(line, book, item, TYPO, "casi igual (un error de tecleo)"))
                return out
        if len(fitting) == 1 and not exact:
            [item] = fitting.values()
            out.append(self._one(line, book, item, TYPO, "casi igual (un error de tecleo)"))
        elif fitting:  # several, or one that contradicts a number written exactly
            for item in list(fitting.values())[:MAX_TYPO_ANSWERS]:
                out.append(self._one(line, book, item, TYPO_SHARED, "parecido; revisar"))
        elif not exact and typo:
            for item in list(typo.values())[:MAX_TYPO_ANSWERS]:
                out.append(
                    self._one(line, book, item, TYPO_LOOSE, "parecido; el importe no coincide")
                )
        return out

    def _one(
        self, line: StatementLine, book: MatchBook, item: OpenItem, confidence: float, how: str
    ) -> MatchCandidate:
        """One invoice: its whole balance when the line pays it (fee included), else the line."""
        paid = item.balance if item.balance <= line.amount + book.fee_tolerance else line.amount
        return MatchCandidate(
            self.name,
            confidence,
            item.customer_id,
            ((item.invoice_id, paid),),
            f"Factura {item.number} en el concepto: {how}.",
        )

    def _exact(
        self,
        line: StatementLine,
        book: MatchBook,
        items: list[OpenItem],
        written: dict[int, str],
    ) -> list[MatchCandidate]:
        by_customer: dict[int, list[OpenItem]] = {}
        for item in items:
            by_customer.setdefault(item.customer_id, []).append(item)
        out = []
        for customer_id, mine in by_customer.items():
            ids = [i.invoice_id for i in mine]
            allocations, fit = book.allocate(customer_id, line.amount, ids)
            numbers = ", ".join(i.number for i in mine)
            owed = sum(i.balance for i in mine)
            if fit in ("exact", "fee") and sum(a for _, a in allocations) == owed:
                confidence = EXACT
                reason = f"Facturas {numbers} en el concepto; el importe las paga."
                if fit == "fee":
                    reason = (
                        f"Facturas {numbers} en el concepto; faltan "
                        f"{money(owed - line.amount, line.currency)} (comisión bancaria)."
                    )
            elif fit in ("exact", "fee"):
                confidence = PARTIAL
                reason = f"Facturas {numbers} en el concepto; el importe paga algunas completas."
            elif fit == "partial":
                short = all(not _distinctive(written.get(i, "")) for i in ids)
                confidence = PARTIAL_SHORT if short else PARTIAL
                reason = (
                    f"Facturas {numbers} en el concepto; pago parcial de "
                    f"{money(line.amount, line.currency)} de {money(owed, line.currency)}."
                )
            else:  # over: everything written is paid, the rest stays as the customer's credit
                confidence = OVER
                reason = (
                    f"Facturas {numbers} en el concepto; sobran "
                    f"{money(line.amount - owed, line.currency)} (saldo a favor)."
                )
            if len(by_customer) > 1:
                confidence = min(confidence, TYPO_SHARED)
            out.append(MatchCandidate(self.name, confidence, customer_id, allocations, reason))
        return out
