"""Bank transfer / deposit payment method for Recaudo (instructions plus a checked reference).

Registered through the ``recaudo`` entry point ``banktransfer``. Money is recognised later by
bank-statement reconciliation (its ``bank_reference`` match rule, :mod:`.matching`) or
staff-confirmed proof, using :func:`customer_from_reference`.
"""

from __future__ import annotations

from recaudo.api import MatchRule, PaymentMethod, PluginSettingsSchema, hookimpl
from recaudo.plugins.banktransfer.matching import BankReference
from recaudo.plugins.banktransfer.method import (
    SETTINGS_FIELDS,
    BankTransferMethod,
    customer_reference,
    settings_errors,
)
from recaudo.plugins.banktransfer.references import (
    SCHEMES,
    BankReferenceError,
    check_reference,
    customer_from_reference,
    damm_digit,
    payment_reference,
    valid_clabe,
)

RECAUDO_API = "1.0"  # the plugin API this plugin is written for

__all__ = [
    "SCHEMES",
    "SETTINGS_FIELDS",
    "BankReference",
    "BankReferenceError",
    "BankTransferMethod",
    "check_reference",
    "customer_from_reference",
    "customer_reference",
    "damm_digit",
    "payment_reference",
    "recaudo_match_rules",
    "recaudo_payment_methods",
    "recaudo_settings_schema",
    "settings_errors",
    "valid_clabe",
]


@hookimpl
def recaudo_payment_methods() -> list[PaymentMethod]:
    return [BankTransferMethod()]


@hookimpl
def recaudo_settings_schema() -> PluginSettingsSchema:
    return PluginSettingsSchema(plugin="banktransfer", fields=SETTINGS_FIELDS)


@hookimpl
def recaudo_match_rules() -> list[MatchRule]:
    return [BankReference()]
