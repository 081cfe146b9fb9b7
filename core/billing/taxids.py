"""Per-country tax identifier validation with python-stdnum.

Customers in Latin America are identified by RFC (MX), NIT (CO), CUIT (AR), RUT (CL), RUC (PE),
CPF/CNPJ (BR) and so on. Accepting a mistyped id breaks e-invoicing later, so ids are validated
and stored in their compact form.
"""

from __future__ import annotations

from types import ModuleType

from stdnum import exceptions as stdnum_exceptions
from stdnum.ar import cuit
from stdnum.br import cnpj, cpf
from stdnum.cl import rut
from stdnum.co import nit
from stdnum.ec import ruc as ec_ruc
from stdnum.mx import rfc
from stdnum.pe import ruc as pe_ruc
from stdnum.uy import rut as uy_rut

_VALIDATORS: dict[str, tuple[tuple[str, ModuleType], ...]] = {
    "MX": (("RFC", rfc),),
    "CO": (("NIT", nit),),
    "AR": (("CUIT", cuit),),
    "CL": (("RUT", rut),),
    "PE": (("RUC", pe_ruc),),
    "EC": (("RUC", ec_ruc),),
    "UY": (("RUT", uy_rut),),
    "BR": (("CPF", cpf), ("CNPJ", cnpj)),
}


class TaxIdError(ValueError):
    """The tax id is not valid for the given country."""


def validate_tax_id(country: str, value: str) -> str:
    """Return the compact, validated tax id or raise :class:`TaxIdError` naming the scheme."""
    country = (country or "").upper()
    value = (value or "").strip()
    if not value:
        raise TaxIdError("tax id is empty")
    schemes = _VALIDATORS.get(country)
    if schemes is None:
        # Countries without a known scheme are stored as typed: refusing them would block a
        # business from registering a foreign customer at all.
        return value
    for _name, module in schemes:
        try:
            return str(module.validate(value))
        except stdnum_exceptions.ValidationError:
            continue
    names = "/".join(name for name, _ in schemes)
    raise TaxIdError(f"{value!r} is not a valid {names} for {country}")
