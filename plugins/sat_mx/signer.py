"""Loading the tenant's CSD (Certificado de Sello Digital) into a satcfdi ``Signer``.

The certificate is stored base64 in the settings and the key base64 in a secret setting (the
host encrypts secrets at rest). Loading checks what SAT would refuse later anyway, so staff see
it when they save: the key must open with the password, belong to the certificate, and the
certificate must be the issuer's (its RFC equals the ``rfc`` setting).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from satcfdi.exceptions import CFDIError
from satcfdi.models import Signer

from recaudo.plugins.sat_mx.settings import SettingsProblem, decode_b64


@lru_cache(maxsize=32)
def _load(cer: bytes, key: bytes, password: str) -> Signer:
    try:
        return Signer.load(certificate=cer, key=key, password=password)
    except CFDIError:
        raise SettingsProblem("Llave privada CSD: no corresponde al certificado") from None
    except ValueError as exc:
        text = str(exc).lower()
        if "password" in text or "decrypt" in text or "bad decrypt" in text:
            raise SettingsProblem("Contraseña de la llave CSD: incorrecta") from None
        raise SettingsProblem("Certificado o llave CSD: no se pudieron leer") from None
    except Exception:  # OpenSSL raises its own error types for garbage input
        raise SettingsProblem("Certificado o llave CSD: no se pudieron leer") from None


def load_signer(settings: Mapping[str, Any]) -> Signer:
    """The tenant's signer; :class:`SettingsProblem` says what is wrong."""
    cer = decode_b64(settings.get("csd_certificate") or "", "Certificado CSD")
    key = decode_b64(settings.get("csd_key") or "", "Llave privada CSD")
    return _load(cer, key, str(settings.get("csd_password") or ""))


def validity(signer: Signer) -> tuple[datetime, datetime]:
    """When the certificate starts and stops being valid (UTC)."""
    cert = signer.certificate.to_cryptography()
    return cert.not_valid_before_utc, cert.not_valid_after_utc


def signer_problems(settings: Mapping[str, Any], rfc: str) -> list[str]:
    try:
        signer = load_signer(settings)
    except SettingsProblem as exc:
        return [str(exc)]
    if rfc and str(signer.rfc) != rfc:
        return [f"Certificado CSD: es del RFC {signer.rfc}, no de {rfc}"]
    return []


def expiry_problem(settings: Mapping[str, Any]) -> str:
    """'' unless the certificate loads and is already expired (a warning for staff)."""
    try:
        signer = load_signer(settings)
    except SettingsProblem:
        return ""
    _, until = validity(signer)
    return f"Certificado CSD: venció el {until:%Y-%m-%d}" if until < datetime.now(UTC) else ""
