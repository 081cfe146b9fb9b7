"""Is a customer's fiscal data good enough for a CFDI 4.0 Receptor? (``party_errors``)

SAT refuses a CFDI whose receptor RFC, name, régimen, domicilio fiscal or UsoCFDI do not agree;
catching it when staff save the customer is cheaper than a refused stamp.

Catalogues pinned here (satcfdi's catalogue has the codes' names but not which persona type or
régimen each applies to): SAT Anexo 20, catálogos CFDI 4.0 ``c_RegimenFiscal`` and ``c_UsoCFDI``
(columns "Física"/"Moral" and "Régimen Fiscal Receptor"), revision published 2023-10 (catCFDI
V4 2023-10-31). Update both tables together when SAT publishes a new revision.
"""

from __future__ import annotations

import re

from recaudo.api import EInvoiceParty

#: RFCs SAT reserves: the general public and foreign residents.
GENERIC_RFCS = ("XAXX010101000", "XEXX010101000")

_RFC = re.compile(r"^([A-ZÑ&]{3,4})(\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])[A-Z\d]{2}[\dA]$")

#: c_RegimenFiscal: code → who may have it ("F" persona física, "M" persona moral).
REGIMES: dict[str, str] = {
    "601": "M", "603": "M", "605": "F", "606": "F", "607": "F", "608": "F", "610": "FM",
    "611": "F", "612": "F", "614": "F", "615": "F", "616": "F", "620": "M", "621": "F",
    "622": "M", "623": "M", "624": "M", "625": "F", "626": "FM",
}  # fmt: skip

_BUSINESS = ("601", "603", "606", "612", "620", "621", "622", "623", "624", "625", "626")
_PERSONAL = ("605", "606", "608", "611", "612", "614", "607", "615", "625")
_ANY = tuple(REGIMES)

#: c_UsoCFDI: code → (who may use it, régimenes del receptor allowed).
USES: dict[str, tuple[str, tuple[str, ...]]] = {
    "G01": ("FM", _BUSINESS), "G02": ("FM", _BUSINESS), "G03": ("FM", _BUSINESS),
    "I01": ("FM", _BUSINESS), "I02": ("FM", _BUSINESS), "I03": ("FM", _BUSINESS),
    "I04": ("FM", _BUSINESS), "I05": ("FM", _BUSINESS), "I06": ("FM", _BUSINESS),
    "I07": ("FM", _BUSINESS), "I08": ("FM", _BUSINESS),
    "D01": ("F", _PERSONAL), "D02": ("F", _PERSONAL), "D03": ("F", _PERSONAL),
    "D04": ("F", _PERSONAL), "D05": ("F", _PERSONAL), "D06": ("F", _PERSONAL),
    "D07": ("F", _PERSONAL), "D08": ("F", _PERSONAL), "D09": ("F", _PERSONAL),
    "D10": ("F", _PERSONAL),
    "S01": ("FM", _ANY), "CP01": ("FM", _ANY), "CN01": ("F", ("605",)),
}  # fmt: skip

DEFAULT_USE = "G03"


def rfc_problem(rfc: str) -> str:
    """Why ``rfc`` is not a well-formed RFC ('' when it is)."""
    if rfc in GENERIC_RFCS:
        return ""
    if len(rfc) not in (12, 13):
        return "debe tener 12 caracteres (persona moral) o 13 (persona física)"
    if not _RFC.match(rfc):
        return "no tiene la forma de un RFC (letras, fecha AAMMDD y homoclave)"
    return ""


def persona(rfc: str) -> str:
    """``"M"`` for a persona moral (12 characters), ``"F"`` for a persona física."""
    return "M" if len(rfc) == 12 else "F"


def party_errors(party: EInvoiceParty) -> list[str]:
    """Spanish messages, one per field at fault; empty when SAT should accept the receptor."""
    errors: list[str] = []
    rfc = party.tax_id.strip().upper()
    if not rfc:
        errors.append("RFC: falta")
    elif problem := rfc_problem(rfc):
        errors.append(f"RFC: {problem}")
    if not party.name.strip():
        errors.append("Nombre fiscal: falta (como aparece en la constancia de situación fiscal)")
    postal = party.postal_code.strip()
    if not postal:
        errors.append("Código postal fiscal: falta")
    elif not (len(postal) == 5 and postal.isdigit()):
        errors.append("Código postal fiscal: deben ser 5 dígitos")
    regime = party.regime.strip()
    kind = persona(rfc) if rfc and not rfc_problem(rfc) else ""
    if not regime:
        errors.append("Régimen fiscal: falta")
    elif regime not in REGIMES:
        errors.append(f"Régimen fiscal: «{regime}» no está en el catálogo del SAT")
    elif rfc in GENERIC_RFCS and regime != "616":
        errors.append("Régimen fiscal: para el RFC genérico debe ser 616 (sin obligaciones)")
    elif kind and rfc not in GENERIC_RFCS and kind not in REGIMES[regime]:
        who = "una persona moral" if kind == "M" else "una persona física"
        errors.append(f"Régimen fiscal: {regime} no aplica a {who}")
    use = (party.use or DEFAULT_USE).strip().upper()
    if use not in USES:
        errors.append(f"Uso del CFDI: «{use}» no está en el catálogo del SAT")
    elif rfc in GENERIC_RFCS and use != "S01":
        errors.append("Uso del CFDI: para el RFC genérico debe ser S01 (sin efectos fiscales)")
    else:
        who_may, regimes = USES[use]
        if kind and rfc not in GENERIC_RFCS and kind not in who_may:
            errors.append(f"Uso del CFDI: {use} solo aplica a personas físicas")
        elif regime in REGIMES and regime not in regimes:
            errors.append(f"Uso del CFDI: {use} no se permite con el régimen {regime}")
    return errors
