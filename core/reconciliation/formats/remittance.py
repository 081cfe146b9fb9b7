"""Payer name, reference and payer account out of free remittance text (MT940 ``:86:``).

Mexican and Colombian banks each put their own labels in ``:86:`` ("ORDENANTE:", "REF.",
"CUENTA ORDENANTE") or the SWIFT-style ``/NAME/…/EREF/…`` codes. The whole text always stays the
description (invoice numbers are searched there); these fields are only filled when a label
makes them unambiguous, never guessed from position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SLASH_CODES = {
    "NAME": "payer_name", "ORDP": "payer_name", "ORDENANTE": "payer_name",
    "EREF": "reference", "REF": "reference", "REFERENCIA": "reference", "KREF": "reference",
    "IBAN": "payer_account", "CLABE": "payer_account", "CTA": "payer_account",
}  # fmt: skip
_SLASH = re.compile(r"/([A-Z]{2,10})/([^/]*)")

# Labels that end a payer's name when they follow it on the same line.
_NEXT_LABEL = (
    r"(?:CONCEPTO|MOTIVO|DESCRIPCI[OÓ]N|REF(?:ERENCIA)?(?:\s+NUM(?:ERICA)?)?|REF\.|CLABE|CUENTA|"
    r"CTA\.?|RFC|NIT|BANCO|FECHA|HORA|CLAVE(?:\s+DE)?\s+RASTREO|RASTREO|BENEFICIARIO|IMPORTE|"
    r"IBAN|EREF)"
)
_PAYER = re.compile(
    r"\b(?:NOMBRE\s+(?:DEL\s+)?ORDENANTE|ORDENANTE|REMITENTE|ORIGINADOR|NOMBRE\s+EMISOR|PAGADOR)"
    rf"\s*[:=]\s*(?P<value>[^:=]+?)\s*(?=\b{_NEXT_LABEL}(?:\s+ORDENANTE)?\s*[:=#.]|$)",
    re.IGNORECASE,
)
_REFERENCE = re.compile(
    r"\b(?:REFERENCIA\s+NUM(?:ERICA|\.)?|REF(?:ERENCIA)?|REF\.|EREF)\s*[:=#.]?\s*"
    r"(?P<value>[A-Z0-9][A-Z0-9-]{2,34})\b",
    re.IGNORECASE,
)
_ACCOUNT = re.compile(
    r"\b(?:CLABE(?:\s+ORDENANTE)?|CUENTA\s+ORDENANTE|CTA\.?\s*ORD(?:ENANTE)?|IBAN)\s*[:=#.]?\s*"
    r"(?P<value>\d{10,20}|[A-Z]{2}\d{2}[A-Z0-9]{10,30})\b",
    re.IGNORECASE,
)
_NOT_A_REFERENCE = {"NONREF", "NOTPROVIDED", "NA", "N/A"}


@dataclass(frozen=True)
class Remittance:
    payer_name: str = ""
    reference: str = ""
    payer_account: str = ""


def read_remittance(text: str) -> Remittance:
    """The labelled fields of one movement's free text (empty where there is no label)."""
    found = {"payer_name": "", "reference": "", "payer_account": ""}
    flat = " ".join(text.split())
    if flat.startswith("/"):
        for code, value in _SLASH.findall(flat):
            name = _SLASH_CODES.get(code.upper())
            if name and not found[name] and value.strip():
                found[name] = value.strip()
    for name, pattern in (
        ("payer_name", _PAYER),
        ("reference", _REFERENCE),
        ("payer_account", _ACCOUNT),
    ):
        if found[name]:
            continue
        match = pattern.search(flat)
        if match:
            found[name] = match.group("value").strip(" .,;")
    if found["reference"].upper() in _NOT_A_REFERENCE:
        found["reference"] = ""
    return Remittance(**found)
