"""Choosing the tenant's PAC and telling its refusals from its outages.

A refusal (invalid RFC, expired certificate, a schema error, a folio already used…) comes back
from satcfdi's PAC clients as ``ResponseError`` with the PAC's code and message: retrying cannot
help, so it becomes :class:`PacRefused` and the document is marked ``failed`` for staff. Anything
else — a timeout, a refused connection, an HTTP 5xx — is left to propagate: the job is retried.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from satcfdi.exceptions import ResponseError
from satcfdi.pacs import PAC, Environment

from recaudo.plugins.sat_mx.settings import SettingsProblem, is_development, value


class PacRefused(Exception):
    """The PAC said no; ``str(exc)`` is ``"<code>: <message>"`` in the PAC's own words."""


def refusal_text(exc: ResponseError) -> str:
    """``"305 - La fecha…"`` (satcfdi's shape) → ``"305: La fecha…"``."""
    raw = exc.response if isinstance(exc.response, str) else str(exc.response)
    code, sep, message = raw.partition(" - ")
    if sep and re.fullmatch(r"[A-Za-z0-9_.]{1,20}", code.strip()):
        return f"{code.strip()}: {message.strip()}"
    return raw.strip() or "El PAC rechazó el documento"


def _is_transient(exc: ResponseError) -> bool:
    text = str(exc.response).lower()
    return any(s in text for s in ("timeout", "503", "502", "500 ", "unavailable", "temporal"))


def pac_for(settings: Mapping[str, Any]) -> PAC:
    """The PAC the settings name (``fake`` only in development mode)."""
    name = value(settings, "pac")
    env = Environment.TEST if value(settings, "pac_test_environment") else Environment.PRODUCTION
    user = str(settings.get("pac_user") or "")
    password = str(settings.get("pac_password") or "")
    account = str(settings.get("pac_account") or "")
    if name == "fake":
        if not is_development():
            raise SettingsProblem(
                "PAC: el PAC de prueba («fake») solo se permite en modo desarrollo"
            )
        from recaudo.plugins.sat_mx.fake_pac import FakePAC

        return FakePAC()
    if name == "finkok":
        from satcfdi.pacs.finkok import Finkok

        return Finkok(user, password, environment=env)
    if name == "swsapien":
        from satcfdi.pacs.swsapien import SWSapien

        return SWSapien(user=user, password=password, environment=env)
    if name == "diverza":
        from satcfdi.pacs.diverza import Diverza

        return Diverza(rfc=str(settings.get("rfc") or ""), id=account, token=password,
                       environment=env)  # fmt: skip
    if name == "facturama":
        from satcfdi.pacs.facturama import Facturama

        return Facturama(user, password, environment=env)
    if name == "prodigia":
        from satcfdi.pacs.prodigia import Prodigia

        return Prodigia(user, password, account, environment=env)
    raise SettingsProblem(f"PAC: «{name}» no es un PAC conocido")


def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a PAC operation; a refusal becomes :class:`PacRefused`, an outage propagates."""
    try:
        return fn(*args, **kwargs)
    except ResponseError as exc:
        if _is_transient(exc):
            raise
        raise PacRefused(refusal_text(exc)) from None


#: The PAC's code for "this sealed XML was already stamped" (Finkok, Prodigia…).
ALREADY_STAMPED = "307"


def stamp(pac: PAC, cfdi: Any) -> Any:
    """Stamp ``cfdi``; when a retry is answered "already stamped", fetch that stamp instead
    (Finkok's ``stamped``), so a crash between stamping and storing costs no second CFDI."""
    try:
        return call(pac.stamp, cfdi)
    except PacRefused as exc:
        if str(exc).startswith(ALREADY_STAMPED) and hasattr(pac, "stamped"):
            return call(pac.stamped, cfdi)
        raise


def status_service(settings: Mapping[str, Any]) -> PAC:
    """SAT's own public status service (consulta de CFDI), the same for every PAC."""
    from satcfdi.pacs.sat import SAT

    test = bool(value(settings, "pac_test_environment"))
    return SAT(environment=Environment.TEST if test else Environment.PRODUCTION)
