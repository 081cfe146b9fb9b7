"""``BankTransferMethod``: show the tenant's bank details and the customer's reference.

Nothing happens at a provider: the customer transfers or deposits on their own, and the money is
recognised later by bank-statement reconciliation or by staff confirming a proof of payment. So
``start_checkout`` only returns instructions, there are no webhooks, and nothing here can mark a
payment as received.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recaudo.api import Checkout, CheckoutResult, PaymentMethod, PluginContext, SettingField
from recaudo.plugins.banktransfer.references import (
    DEFAULT_SCHEME,
    SCHEMES,
    BankReferenceError,
    payment_reference,
    scheme_of,
    valid_clabe,
)

SETTINGS_FIELDS: tuple[SettingField, ...] = (
    SettingField("bank_name", "Banco", required=True),
    SettingField("account_holder", "Titular de la cuenta", required=True),
    SettingField(
        "account_number",
        "Número de cuenta o CLABE",
        required=True,
        help="En México, la CLABE de 18 dígitos (se verifica su dígito de control).",
    ),
    SettingField(
        "reference_scheme",
        "Formato de la referencia",
        type="choice",
        choices=SCHEMES,
        default=DEFAULT_SCHEME,
        help="clabe_ref: 7 dígitos para la referencia numérica de SPEI; numeric_check: número "
        "de cliente con dígito verificador (Damm), para depósitos en ventanilla.",
    ),
    SettingField(
        "reference_prefix",
        "Prefijo de la referencia",
        default="",
        help="Dígitos opcionales al inicio de cada referencia (p. ej. para distinguir empresas).",
    ),
    SettingField("instructions", "Indicaciones adicionales", type="text", default=""),
)


def settings_errors(settings: Mapping[str, Any]) -> list[str]:
    """Problems with a tenant's bank settings, in Spanish, for the settings form."""
    errors = [
        f"{field.label}: obligatorio"
        for field in SETTINGS_FIELDS
        if field.required and not str(settings.get(field.name) or "").strip()
    ]
    account = "".join(str(settings.get("account_number") or "").split())
    if len(account) == 18 and account.isdigit() and not valid_clabe(account):
        errors.append("Número de cuenta o CLABE: el dígito de control de la CLABE no es válido")
    try:
        scheme_of(settings)
        payment_reference(settings, 1)
    except BankReferenceError as exc:
        errors.append(f"Referencia: {exc}")
    return errors


class BankTransferMethod(PaymentMethod):
    """Transfer or deposit to the tenant's account, identified by a check-digit reference."""

    name = "banktransfer"
    label = "Transferencia o depósito bancario"
    description = "Transfiere o deposita a la cuenta de la empresa usando tu referencia."
    translations = {
        "en": {
            label: "Bank transfer or deposit",
            description: "Transfer or deposit to the business's account using your reference.",
        }
    }
    settings_schema = SETTINGS_FIELDS
    supports_refunds = False  # refunds are bank operations done by staff, outside Recaudo

    def configuration_errors(self, settings: Mapping[str, Any]) -> list[str]:
        """Without bank details there is nothing to tell the customer: never offered then."""
        return settings_errors(settings)

    async def start_checkout(self, ctx: PluginContext, checkout: Checkout) -> CheckoutResult:
        """The bank details, amount and reference to show. Never marks money as received."""
        settings = ctx.settings
        errors = settings_errors(settings)
        if errors:
            raise ValueError("bank transfer is not configured: " + "; ".join(errors))
        reference = customer_reference(settings, checkout)
        account = "".join(str(settings["account_number"]).split())
        instructions = {
            "method": self.name,
            "bank": str(settings["bank_name"]).strip(),
            "holder": str(settings["account_holder"]).strip(),
            "account": account,
            "account_type": "clabe" if valid_clabe(account) else "account",
            "reference": reference,
            "reference_scheme": scheme_of(settings),
            "amount": str(checkout.amount.to_decimal()),
            "currency": checkout.amount.currency,
            "amount_display": checkout.amount.format(ctx.tenant.locale),
            "concept": checkout.description,
            "note": str(settings.get("instructions") or "").strip(),
        }
        return CheckoutResult(kind="instructions", instructions=instructions)


def customer_reference(settings: Mapping[str, Any], checkout: Checkout) -> str:
    """The customer's stored reference, else the one derived from their id (stable per tenant)."""
    if checkout.customer_reference.strip():
        return checkout.customer_reference.strip()
    if not checkout.customer_id:
        raise ValueError("bank transfer needs the customer: Checkout.customer_id is empty")
    return payment_reference(settings, checkout.customer_id)
