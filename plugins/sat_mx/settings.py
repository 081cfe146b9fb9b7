"""The SAT plugin's per-tenant settings and the checks that tell staff what is missing.

Every check here is pure (no network, no database): ``configuration_errors`` runs when staff save
the settings and before each issue. The process mode (development or not) comes from the
``recaudo_startup`` hook, because the fake PAC must never stamp for a production tenant.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from recaudo.api import SettingField

#: The PACs satcfdi speaks to, plus our local fake (development and tests only).
PACS = ("fake", "finkok", "swsapien", "diverza", "facturama", "prodigia")

#: SAT c_RegimenFiscal codes an issuer may declare (CFDI 4.0 catalogue, see parties.py).
ISSUER_REGIMES = (
    "601", "603", "605", "606", "607", "608", "610", "611", "612", "614", "615", "616",
    "620", "621", "622", "623", "624", "625", "626",
)  # fmt: skip

SETTINGS_FIELDS = (
    SettingField("rfc", "RFC del emisor", required=True),
    SettingField("legal_name", "Razón social del emisor", required=True),
    SettingField("regime", "Régimen fiscal del emisor", "choice", default="601",
                 choices=ISSUER_REGIMES),
    SettingField("postal_code", "Código postal de expedición (LugarExpedicion)", required=True),
    SettingField("csd_certificate", "Certificado CSD (.cer en base64)", "text", required=True),
    SettingField("csd_key", "Llave privada CSD (.key en base64)", "secret", required=True),
    SettingField("csd_password", "Contraseña de la llave CSD", "secret", required=True),
    SettingField("series", "Serie de facturas", default="A"),
    SettingField("payment_series", "Serie de complementos de pago", default="P"),
    SettingField("pac", "Proveedor de certificación (PAC)", "choice", default="finkok",
                 choices=PACS, help="«fake» solo existe en modo desarrollo."),
    SettingField("pac_user", "Usuario del PAC"),
    SettingField("pac_password", "Contraseña o token del PAC", "secret"),
    SettingField("pac_account", "Contrato o id de cliente del PAC (Prodigia, Diverza)"),
    SettingField("pac_test_environment", "Usar el ambiente de pruebas del PAC", "boolean",
                 default=True),
    SettingField("product_code", "ClaveProdServ de los conceptos", default="01010101"),
    SettingField("unit_code", "ClaveUnidad de los conceptos", default="E48"),
    SettingField("iva_rate", "Tasa de IVA trasladado", default="0.160000"),
    SettingField("auto_issue", "Timbrar cada factura nueva automáticamente", "boolean",
                 default=True),
    SettingField("exchange_rates", "Tipos de cambio (MXN por unidad)", default="",
                 help="Ejemplo: USD=17.2345;EUR=18.9 — para documentos en otra moneda."),
)  # fmt: skip

DEFAULTS: dict[str, Any] = {f.name: f.default for f in SETTINGS_FIELDS if f.default is not None}

_mode = {"development": False}


def set_development(flag: bool) -> None:
    """Remember the process mode (called from ``recaudo_startup`` and by tests)."""
    _mode["development"] = bool(flag)


def is_development() -> bool:
    return _mode["development"]


class SettingsProblem(ValueError):
    """Settings that cannot issue; the message is for staff."""


def value(settings: Mapping[str, Any], name: str) -> Any:
    """A setting with its default applied (``ctx.settings`` has them; plain dicts may not)."""
    got = settings.get(name)
    return DEFAULTS.get(name, "") if got is None or got == "" else got


def decode_b64(text: str, label: str) -> bytes:
    try:
        return base64.b64decode("".join(str(text).split()), validate=True)
    except (binascii.Error, ValueError):
        raise SettingsProblem(f"{label}: no es base64 válido") from None


def exchange_rates(settings: Mapping[str, Any]) -> dict[str, Decimal]:
    """``"USD=17.2345;EUR=18.9"`` → ``{"USD": Decimal("17.2345"), …}``; bad text raises."""
    rates: dict[str, Decimal] = {}
    for part in str(value(settings, "exchange_rates") or "").replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        code, sep, rate = part.partition("=")
        code = code.strip().upper()
        try:
            number = Decimal(rate.strip())
        except InvalidOperation:
            number = Decimal(0)
        if not sep or len(code) != 3 or not code.isalpha() or not number > 0:
            raise SettingsProblem(f"Tipos de cambio: «{part}» no tiene la forma MONEDA=número")
        rates[code] = number
    return rates


def rate_for(settings: Mapping[str, Any], currency: str) -> Decimal:
    """MXN per unit of ``currency`` (1 for MXN); a missing rate is an error staff must fix."""
    if currency == "MXN":
        return Decimal(1)
    rates = exchange_rates(settings)
    if currency not in rates:
        raise SettingsProblem(
            f"Falta el tipo de cambio de {currency} en la configuración del SAT "
            f"(Tipos de cambio, p. ej. {currency}=17.50)"
        )
    return rates[currency]


def iva_rate(settings: Mapping[str, Any]) -> Decimal:
    try:
        rate = Decimal(str(value(settings, "iva_rate")))
    except InvalidOperation:
        raise SettingsProblem("Tasa de IVA: no es un número") from None
    if not Decimal(0) <= rate <= Decimal(1):
        raise SettingsProblem("Tasa de IVA: debe estar entre 0 y 1 (p. ej. 0.160000)")
    return rate.quantize(Decimal("0.000001"))


def configuration_errors(settings: Mapping[str, Any]) -> list[str]:
    """What keeps this tenant from issuing, in Spanish; empty when it can issue. No I/O.

    Includes an expired certificate, which :func:`blocking_errors` leaves to the PAC."""
    from recaudo.plugins.sat_mx.signer import expiry_problem

    errors = blocking_errors(settings)
    if not errors and (expired := expiry_problem(settings)):
        errors.append(expired)
    return errors


def blocking_errors(settings: Mapping[str, Any]) -> list[str]:
    """The errors that stop issuing before anything is built. An expired certificate is not
    one of them: the PAC refuses that document in its own words and staff see it failed."""
    from recaudo.plugins.sat_mx.parties import rfc_problem
    from recaudo.plugins.sat_mx.signer import signer_problems

    errors: list[str] = []
    for f in SETTINGS_FIELDS:
        if f.required and not str(settings.get(f.name) or "").strip():
            errors.append(f"{f.label}: falta")
    rfc = str(settings.get("rfc") or "").strip().upper()
    if rfc and (problem := rfc_problem(rfc)):
        errors.append(f"RFC del emisor: {problem}")
    postal = str(settings.get("postal_code") or "").strip()
    if postal and not (len(postal) == 5 and postal.isdigit()):
        errors.append("Código postal de expedición: deben ser 5 dígitos")
    pac = value(settings, "pac")
    if pac == "fake" and not is_development():
        errors.append("PAC: el PAC de prueba («fake») solo se permite en modo desarrollo")
    elif pac not in ("fake",) and pac in PACS:
        if not str(settings.get("pac_user") or "").strip() and pac != "diverza":
            errors.append("Usuario del PAC: falta")
        if not str(settings.get("pac_password") or "").strip():
            errors.append("Contraseña o token del PAC: falta")
        if pac in ("prodigia", "diverza") and not str(settings.get("pac_account") or "").strip():
            errors.append("Contrato o id de cliente del PAC: falta")
    for check in (exchange_rates, iva_rate):
        try:
            check(settings)
        except SettingsProblem as exc:
            errors.append(str(exc))
    if all(settings.get(k) for k in ("csd_certificate", "csd_key", "csd_password")):
        errors.extend(signer_problems(settings, rfc))
    return errors
