"""SAT CFDI 4.0 (México): invoices (Ingreso) and payment complements (Pagos 2.0) via a PAC.

Built with satcfdi: documents are built and their taxes computed by the library, signed with the
tenant's CSD, validated against SAT's schema and stamped through a PAC satcfdi supports (Finkok,
SW Sapien, Diverza, Facturama, Prodigia) — or, in development mode only, through a local fake
PAC with SAT's public test CSD. See docs/einvoicing-sat.md.
"""

from __future__ import annotations

from typing import Any

from recaudo.api import EInvoiceBackend, PluginSettingsSchema, hookimpl
from recaudo.plugins.sat_mx.settings import SETTINGS_FIELDS, set_development

RECAUDO_API = "1.0"  # the plugin API this plugin is written for


@hookimpl
def recaudo_startup(settings: Any) -> None:
    set_development(bool(getattr(settings, "is_development", False)))


@hookimpl
def recaudo_einvoice_backends() -> list[EInvoiceBackend]:
    from recaudo.plugins.sat_mx.backend import SatBackend

    return [SatBackend()]


@hookimpl
def recaudo_settings_schema() -> PluginSettingsSchema:
    return PluginSettingsSchema(plugin="sat_mx", fields=SETTINGS_FIELDS)


@hookimpl
def recaudo_piccolo_app() -> Any:
    from recaudo.plugins.sat_mx.piccolo_app import APP_CONFIG

    return APP_CONFIG
