"""The context a plugin acts through for one tenant: who, with which settings, and the tools.

Everything a plugin does for a tenant goes through a :class:`PluginContext`, built by the host
with :func:`context_for`. It hands the plugin its own settings (decrypted and validated), storage
limited to that tenant's rows, rendering with the tenant's branding and language, jobs in the
current transaction and a logger naming tenant and plugin: no plugin needs ``unscoped``, a secret
key or a private module.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

from jinja2 import Environment

from recaudo.core import config
from recaudo.core.common import outbox
from recaudo.core.messaging.i18n import formatter_for, pick_language, translations
from recaudo.core.messaging.rendering import make_environment, plugin_template_dirs
from recaudo.core.platform.plugin_settings import settings_for
from recaudo.core.platform.values import Branding, TenantInfo
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info
from recaudo.tenants.urls import portal_base_url


class ContextLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Prefixes every line with the tenant's slug and the plugin's name."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        extra = self.extra or {}
        return f"[{extra.get('tenant')}/{extra.get('plugin')}] {msg}", kwargs


@cache
def _environment(dirs: tuple[str, ...]) -> Environment:
    return make_environment(list(dirs))


@dataclass(frozen=True)
class PluginContext:
    """One plugin acting for one tenant. Build it with :func:`context_for`.

    ``settings`` is read-only; ``settings_errors`` lists stored values that no longer validate
    (they are left out of ``settings`` and reported to staff as configuration errors).
    """

    tenant: TenantInfo
    plugin: str
    settings: Mapping[str, Any]
    db: TenantScope
    language: str
    base_url: str = ""
    settings_errors: tuple[str, ...] = ()
    log: logging.LoggerAdapter = field(  # type: ignore[type-arg]
        default_factory=lambda: ContextLogger(logging.getLogger("recaudo.plugins"), {})
    )

    async def render(self, template: str, **values: Any) -> str:
        """Render a template from the plugins' (or the messages') folders for this tenant.

        The template sees ``tenant``, ``branding``, ``lang``, ``fmt`` (money and dates in the
        tenant's locale), ``_``/``ngettext`` (translations) and ``values``; everything is
        autoescaped.
        """
        from recaudo.core.messaging.branding import branding_for
        from recaudo.tenants.plugin_config import enabled_plugins

        branding: Branding = await branding_for(self.tenant, await enabled_plugins(self.db))
        trans = translations(self.language)
        env = _environment(tuple(plugin_template_dirs()))
        page = {
            "tenant": self.tenant,
            "branding": branding,
            "lang": self.language,
            "fmt": formatter_for(self.language, self.tenant.locale, self.tenant.timezone),
            "_": trans.gettext,
            "ngettext": trans.ngettext,
            **values,
        }
        return env.get_template(template).render(**page)

    async def enqueue(self, job: str, payload: dict[str, Any], key: str | None = None) -> bool:
        """Queue this plugin's job ``job`` (run as ``"<plugin>.<job>"``) in the current
        transaction: it runs only if the transaction commits. ``key`` makes it idempotent
        (another job with the same key is not queued; ``False`` is returned)."""
        import secrets

        actor = f"{self.plugin}.{job}"
        return await outbox.enqueue(
            self.db, actor, payload, key=key or f"{actor}:{secrets.token_hex(12)}"
        )

    async def payment_open(self, payment_id: int) -> bool:
        """Does Recaudo still take money for its payment ``payment_id``? Not once it ended,
        expired or was replaced by a newer checkout: a hosted page must then refuse to charge."""
        from recaudo.core.payments.expiry import is_live, now
        from recaudo.core.tables import Payment

        payment = await self.db.get(Payment, payment_id)
        return payment is not None and is_live(payment, now())

    async def record_delivery(
        self,
        provider_id: str,
        status: str,
        error: str = "",
        permanent: bool = True,
        channel: str = "",
    ) -> bool:
        """Record what the provider said became of a message this plugin's channel sent
        (``sent``, ``delivered``, ``read`` or ``failed``), for a verified delivery-status
        callback. ``channel`` defaults to the plugin's name. Repeats and late, older statuses
        change nothing; a failed collection contact falls back to the customer's next channel.
        ``True`` when something changed."""
        from recaudo.core.messaging.delivery import record_delivery

        update = await record_delivery(
            self.db, channel or self.plugin, provider_id, status, error, permanent
        )
        return update.changed

    def portal_url(self, path: str = "") -> str:
        """An absolute link into the tenant's portal, built from configuration (never from a
        request's headers)."""
        return self.base_url + ("/" + path.lstrip("/") if path else "")


def build_context(
    tenant: TenantInfo,
    plugin: str,
    settings: Mapping[str, Any],
    *,
    language: str | None = None,
    errors: tuple[str, ...] = (),
    base_url: str = "",
) -> PluginContext:
    """A context from values already at hand (``context_for`` reads them from the database)."""
    lang = pick_language(language, None, tenant.locale)
    return PluginContext(
        tenant=tenant,
        plugin=plugin,
        settings=MappingProxyType(dict(settings)),
        db=TenantScope(tenant.id),
        language=lang,
        base_url=base_url,
        settings_errors=errors,
        log=ContextLogger(
            logging.getLogger(f"recaudo.plugins.{plugin}"),
            {"tenant": tenant.slug, "plugin": plugin},
        ),
    )


def _active() -> config.Settings | None:
    try:
        return config.active()
    except RuntimeError:  # a script or test that never started the app
        return None


async def context_for(
    tenant_id: int | TenantInfo, plugin: str, language: str | None = None
) -> PluginContext:
    """The context ``plugin`` acts through for tenant ``tenant_id`` (in ``language``, default
    the tenant's). ``LookupError`` when the tenant does not exist."""
    if isinstance(tenant_id, TenantInfo):
        info = tenant_id
    else:
        row = await Tenant.objects().where(Tenant.id == tenant_id).first()
        if row is None:
            raise LookupError(f"tenant {tenant_id} not found")
        info = tenant_info(row)
    active = _active()
    settings, errors = await settings_for(
        TenantScope(info.id), plugin, active.secret_key if active else ""
    )
    return build_context(
        info,
        plugin,
        settings,
        language=language,
        errors=tuple(errors),
        base_url=portal_base_url(info.slug, active) if active else "",
    )
