"""``bank_reference``: the reference a customer typed into the transfer says who paid.

The rule lives here because references do: the tenant's scheme and prefix are this plugin's
settings (``ctx.settings``, as at checkout), and only this plugin knows how a reference is built.
Three clues, strongest first:

* a reference with a right Damm check digit that decodes to a customer (or a customer's stored
  ``payment_reference``) — the customer is certain; the amount pays a set of whole invoices if
  one adds up (N:1), else the oldest due first;
* the payer's account (CLABE) a customer paid from before;
* a reference that *fails* the check digit is a typo: the customers one digit (or one swap) away
  are proposed for review, never applied on that alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from recaudo.api import MatchBook, MatchCandidate, MatchRule, PluginContext, StatementLine
from recaudo.plugins.banktransfer.references import (
    NUMERIC_WIDTH,
    SPEI_REFERENCE_DIGITS,
    BankReferenceError,
    check_reference,
    customer_from_reference,
)

SURE = 0.97  # a valid reference, the amount pays whole invoices
SURE_SPREAD = 0.95  # a valid reference, the amount spread oldest first (or on account)
LOOSE = 0.92  # a valid reference standing alone in the concept, the amount pays whole invoices
LOOSE_SPREAD = 0.6  # ... the amount does not: perhaps not a reference at all
ACCOUNT = 0.9  # the account this customer paid from before, whole invoices
ACCOUNT_SPREAD = 0.8
TYPO = 0.5  # the check digit fails: a near reference, the amount fits
TYPO_LOOSE = 0.3
MAX_TYPO_ANSWERS = 5
_DIGIT_RUN = re.compile(r"\d[\d \-]*\d")
_TRIM = ".,;:()[]\"'"
_FIT_REASON = {
    "exact": "el importe paga facturas completas",
    "fee": "el importe paga facturas completas menos la comisión bancaria",
    "partial": "el importe se aplica a las facturas más antiguas",
    "over": "el importe paga todo lo pendiente y el resto queda a favor",
    "none": "no tiene facturas abiertas: queda a favor",
}


def _loose_numbers(line: StatementLine, book: MatchBook) -> list[str]:
    """Words of the concept that are only digits (at least seven) and no invoice's number,
    alone or after a short prefix ("F 1000123" is invoice F1000123, not a reference)."""
    words = [w.strip(_TRIM) for w in (line.description or "").split()]
    found = []
    for k, word in enumerate(words):
        digits = word.replace("-", "")
        if len(digits) < 7 or not digits.isdigit():
            continue
        before = words[k - 1] if k else ""
        numbered = [digits] + ([before + digits] if before.isalpha() and len(before) <= 4 else [])
        if any(book.invoices_numbered(n) or book.customer_of_paid_invoice(n) for n in numbered):
            continue
        found.append(digits)
    return list(dict.fromkeys(found))


_AFTER_REF = re.compile(r"\bREF(?:ERENCIA)?\b[.:#\s]*(\d[\d \-]*\d)", re.IGNORECASE)


def _typed_references(line: StatementLine) -> list[str]:
    """What the customer typed as a reference: the reference field's digits and those after
    "REF" in the concept (not every number of the concept: invoice numbers have digits too)."""
    runs = _DIGIT_RUN.findall(line.reference or "") + _AFTER_REF.findall(line.description or "")
    return list(dict.fromkeys(r.replace(" ", "").replace("-", "") for r in runs))


def _could_be_reference(settings: Mapping[str, Any], digits: str) -> bool:
    """As long as the tenant's references are, and starting with its prefix."""
    prefix = "".join(str(settings.get("reference_prefix") or "").split())
    if str(settings.get("reference_scheme") or "") == "clabe_ref":
        right_length = len(digits) == SPEI_REFERENCE_DIGITS
    else:
        right_length = len(digits) >= len(prefix) + NUMERIC_WIDTH + 1
    return right_length and digits.startswith(prefix)


def _near(digits: str) -> list[str]:
    """Strings one digit or one swap of neighbours away whose check digit is right (Damm
    catches exactly these mistakes, so the right reference is among them)."""
    out = []
    for k in range(len(digits) - 1):
        if digits[k] != digits[k + 1]:
            swapped = digits[:k] + digits[k + 1] + digits[k] + digits[k + 2 :]
            if check_reference(swapped):
                out.append(swapped)
    for k in range(len(digits)):
        for c in "0123456789":
            if c != digits[k]:
                changed = digits[:k] + c + digits[k + 1 :]
                if check_reference(changed):
                    out.append(changed)
    return out


class BankReference(MatchRule):
    name = "bank_reference"
    label = "Referencia bancaria del cliente"

    def _customer(self, ctx: PluginContext, book: MatchBook, digits: str) -> int | None:
        stored = book.customer_for_reference(digits)
        if stored is not None:
            return stored
        try:
            number = customer_from_reference(ctx.settings, digits)
        except BankReferenceError:
            return None
        if number is None or not book.customer_name(number):
            return None
        return number

    def _proposal(
        self,
        line: StatementLine,
        book: MatchBook,
        customer_id: int,
        sure: float,
        spread: float,
        why: str,
    ) -> MatchCandidate:
        allocations, fit = book.allocate(customer_id, line.amount)
        confidence = sure if fit in ("exact", "fee") else spread
        who = book.customer_name(customer_id)
        return MatchCandidate(
            self.name, confidence, customer_id, allocations, f"{why} de {who}; {_FIT_REASON[fit]}."
        )

    def candidates(
        self, ctx: PluginContext, line: StatementLine, book: MatchBook
    ) -> list[MatchCandidate]:
        for text in (line.reference, *line.reference.split(), *line.description.split()):
            customer_id = book.customer_for_reference(text) if len(text) >= 4 else None
            if customer_id is not None:
                return [
                    self._proposal(line, book, customer_id, SURE, SURE_SPREAD, f"Referencia {text}")
                ]
        typed = _typed_references(line)
        for digits in typed:
            customer_id = self._customer(ctx, book, digits) if check_reference(digits) else None
            if customer_id is not None:
                return [
                    self._proposal(
                        line, book, customer_id, SURE, SURE_SPREAD, f"Referencia {digits}"
                    )
                ]
        # A number alone in the concept: a reference, or a phone, a date, an account… whose
        # check digit is right by chance one time in ten. Sure only if the amount agrees.
        for digits in _loose_numbers(line, book):
            customer_id = self._customer(ctx, book, digits) if check_reference(digits) else None
            if customer_id is not None:
                why = f"Número {digits} en el concepto: la referencia"
                return [self._proposal(line, book, customer_id, LOOSE, LOOSE_SPREAD, why)]
        if line.payer_account:
            customer_id = book.customer_for_account(line.payer_account)
            if customer_id is not None:
                return [
                    self._proposal(
                        line,
                        book,
                        customer_id,
                        ACCOUNT,
                        ACCOUNT_SPREAD,
                        f"Cuenta {line.payer_account}, desde la que ya pagó",
                    )
                ]
        out: list[MatchCandidate] = []
        for digits in _typed_references(line)[:3]:
            if not _could_be_reference(ctx.settings, digits) or book.invoices_numbered(digits):
                continue
            for near in _near(digits):
                customer_id = self._customer(ctx, book, near)
                if customer_id is None or any(c.customer_id == customer_id for c in out):
                    continue
                allocations, fit = book.allocate(customer_id, line.amount)
                out.append(
                    MatchCandidate(
                        self.name,
                        TYPO if fit in ("exact", "fee") else TYPO_LOOSE,
                        customer_id,
                        allocations,
                        f"La referencia {digits} tiene un dígito verificador incorrecto; "
                        f"{near} es la de {book.customer_name(customer_id)}; revisar.",
                    )
                )
                if len(out) >= MAX_TYPO_ANSWERS:
                    return out
        return out
