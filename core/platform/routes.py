"""What a plugin's own HTTP routes need from the host: the tenant's context for a request.

Framework-free on purpose (core does not import the web layer): the request is anything with
``query_params`` and ``cookies`` mappings, as Litestar's is.
"""

from __future__ import annotations

from typing import Any

from recaudo.core.messaging.i18n import pick_language
from recaudo.core.platform.context import PluginContext, context_for
from recaudo.tenants.plugin_config import enabled_plugins
from recaudo.tenants.resolve import tenant_by_slug
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info

#: The cookie the portal keeps the visitor's language in.
LANG_COOKIE = "lang"


async def plugin_context(request: Any, plugin: str, tenant_slug: str) -> PluginContext | None:
    """The context of ``plugin`` for the tenant named in a plugin route's path, in the visitor's
    language (``?lang=``, then the portal's cookie, then the tenant's).

    ``None`` when there is no such tenant or it has not enabled ``plugin``: answer 404 then, so
    a plugin's pages exist only for the tenants that use it.
    """
    tenant = await tenant_by_slug(tenant_slug)
    if tenant is None or plugin not in await enabled_plugins(TenantScope(int(tenant.id))):
        return None
    info = tenant_info(tenant)
    language = pick_language(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), info.locale
    )
    return await context_for(info, plugin, language)
