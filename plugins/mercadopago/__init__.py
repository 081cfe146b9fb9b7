"""Mercado Pago payment method (Checkout Pro, cash vouchers, PIX) for Recaudo.

Registered through the ``recaudo`` entry point ``mercadopago``. Deployments (not tenants) may set
``RECAUDO_MERCADOPAGO_API_BASE`` to send API calls elsewhere, e.g. to the fake server in
``tests/fakes/mercadopago.py`` during end-to-end tests.
"""

from __future__ import annotations

import os

from recaudo.api import PaymentMethod, PluginSettingsSchema, hookimpl
from recaudo.plugins.mercadopago.client import MP_API_BASE, BaseUrlHttpClient, make_sdk
from recaudo.plugins.mercadopago.method import (
    CASH_OPTIONS,
    SETTINGS_FIELDS,
    WEBHOOK_TOLERANCE_SECONDS,
    MercadoPagoMethod,
    options_for,
    to_provider_payment,
)
from recaudo.plugins.mercadopago.statuses import STATUS_TABLE, UnknownProviderStatus, map_status

RECAUDO_API = "1.0"  # the plugin API this plugin is written for

__all__ = [
    "CASH_OPTIONS",
    "MP_API_BASE",
    "SETTINGS_FIELDS",
    "STATUS_TABLE",
    "WEBHOOK_TOLERANCE_SECONDS",
    "BaseUrlHttpClient",
    "MercadoPagoMethod",
    "UnknownProviderStatus",
    "make_sdk",
    "map_status",
    "options_for",
    "recaudo_payment_methods",
    "recaudo_settings_schema",
    "to_provider_payment",
]


@hookimpl
def recaudo_payment_methods() -> list[PaymentMethod]:
    api_base = os.environ.get("RECAUDO_MERCADOPAGO_API_BASE", "").strip() or MP_API_BASE
    return [MercadoPagoMethod(api_base=api_base)]


@hookimpl
def recaudo_settings_schema() -> PluginSettingsSchema:
    return PluginSettingsSchema(plugin="mercadopago", fields=SETTINGS_FIELDS)
