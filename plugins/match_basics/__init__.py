"""Built-in reconciliation rules: invoice numbers in the remittance text, amount and date, and
the payer's name. (The bank reference rule belongs to ``banktransfer``, which owns references.)

Confidences follow one scale (the tenant's threshold, 0.9 by default, decides what is applied
without a person): an exact invoice number whose balance the amount pays is 0.98; a number one
typo away that the amount confirms is 0.9; an amount alone is 0.75 at most and a name alone is a
hint the engine never applies unless another rule agrees. The values and the reasons staff read
are listed in docs/reconciliation-matching.md.
"""

from __future__ import annotations

from recaudo.api import MatchRule, hookimpl

from .amounts import AmountDateCustomer
from .names import PayerName
from .numbers import InvoiceNumber

RECAUDO_API = "1.0"  # the plugin API this plugin is written for


@hookimpl
def recaudo_match_rules() -> list[MatchRule]:
    return [InvoiceNumber(), AmountDateCustomer(), PayerName()]
