"""Reading a statement line's free text: the words that may be invoice numbers, amounts shown."""

from __future__ import annotations

import re

from recaudo.api import Money, StatementLine

_WORD = re.compile(r"[0-9A-Za-z](?:[0-9A-Za-z./\-_#]*[0-9A-Za-z])?")
#: Words that introduce a number and are never one themselves.
NOISE = frozenset(
    "FACTURA FACTURAS FACT FAC FRA FAV NO NUM NUMERO REF REFERENCIA PAGO PAGOS ABONO DE LA EL Y "
    "A AL DEL POR INVOICE INVOICES INV PAYMENT TRANSFERENCIA SPEI PSE CONCEPTO".split()
)
MAX_WORDS = 40  # a remittance text longer than this is read up to here


def number_words(line: StatementLine) -> list[str]:
    """Words of the reference and description that could be an invoice number, in order, each
    once: single words with a digit, and two neighbours joined ("F 1023" is "F1023")."""
    words = [w for w in _WORD.findall(f"{line.reference} {line.description}")][:MAX_WORDS]
    found: list[str] = []
    for k, word in enumerate(words):
        upper = word.upper()
        if upper in NOISE:
            continue
        if any(c.isdigit() for c in word):
            found.append(word)
        if k + 1 < len(words) and words[k + 1].upper() not in NOISE:
            nxt = words[k + 1]
            # "F 1023", "FAC 1023": a short prefix written apart from its digits
            if len(word) <= 4 and word.isalpha() and nxt[:1].isdigit():
                found.append(word + nxt)
    return list(dict.fromkeys(found))


def money(amount: int, currency: str) -> str:
    """``1250.00 MXN``: plain and exact (reasons are written for every line, babel is slow)."""
    return f"{Money(currency, amount).to_decimal()} {currency}"
