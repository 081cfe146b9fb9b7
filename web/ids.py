"""Row ids in URLs: an id no key can hold is an unknown id (404), not a database error.

Every ``{name:int}`` path parameter in Recaudo names a row. Keys are 32-bit on PostgreSQL, so a
number beyond them (``/facturas/2147483648``) would fail when bound to the query instead of
finding nothing. One app-wide guard answers those like any unknown id, before any dependency or
handler runs, so a route added tomorrow is covered too. ``TenantScope.get`` and ``form_ids``
apply the same rule (``tenants.scoped.as_id``) to ids that arrive in forms and query strings.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler

from recaudo.tenants.scoped import as_id


def ids_in_range(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: refuse integer path parameters outside ``1..MAX_ID`` with a 404."""
    for value in connection.path_params.values():
        if isinstance(value, int) and as_id(value) is None:
            raise NotFoundException("No encontrado")
