"""Jinja2 environment and the one render helper every page uses.

Autoescaping is on for every template; plugin template folders are searched first so a plugin can
add pages or override built-in ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from jinja2 import Environment
from litestar import Request
from litestar.response import Template
from markupsafe import Markup

from recaudo.core import config
from recaudo.core.access.links import safe_target
from recaudo.core.common.local_cache import LocalCache
from recaudo.core.messaging.branding import branding_for
from recaudo.core.messaging.i18n import LANGUAGES, formatter_for, pick_language, translations
from recaudo.core.messaging.rendering import make_environment as messaging_environment
from recaudo.core.payments.method import PaymentMethod
from recaudo.core.payments.registry import all_methods
from recaudo.core.platform.values import Branding, TenantInfo
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import enabled_plugins
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info
from recaudo.web.tenancy import PAGE_CACHE_SECONDS, tenant_prefix

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "lang"


def make_environment(extra_dirs: list[str] | None = None, reload: bool = False) -> Environment:
    """The pages' environment: plugin folders, then ``web/templates``, then the messages'."""
    return messaging_environment(extra_dirs, reload=reload, base_dirs=[str(TEMPLATES)])


def language_links(request: Request) -> dict[str, str]:
    """For each language, a link to this same page in it: the current query string is kept
    (``/pagar?factura=7`` stays that selection) and only ``lang`` changes. The links are relative
    (``?…``), so they follow whichever address the visitor used (prefix, subdomain, domain).
    A page to return to after signing in is kept only when it is one of ours.

    A page answering a form (a POST with an error) links to the form's page instead, read from
    the same-origin ``Referer``: its own address may only accept POSTs."""
    path, query = "", list(request.query_params.multi_items())
    if request.method != "GET":
        try:
            referer = urlsplit(request.headers.get("referer", ""))
        except ValueError:  # e.g. "http://[" : a header anyone can forge
            referer = urlsplit("")
        if (
            referer.netloc
            and referer.netloc == request.headers.get("host")
            and safe_target(referer.path)
        ):
            path, query = referer.path, parse_qsl(referer.query, keep_blank_values=True)
    kept = [
        (k, v)
        for k, v in query
        if k != "lang" and (k not in ("siguiente", "next") or safe_target(v))
    ]
    return {code: path + "?" + urlencode([*kept, ("lang", code)]) for code in LANGUAGES}


def request_language(request: Request, tenant_locale: str) -> str:
    return pick_language(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), tenant_locale
    )


# What a tenant's pages look like, worked out once per tenant row and set of enabled plugins.
_looks: LocalCache[int, tuple[Tenant, tuple[str, ...], TenantInfo, Branding]] = LocalCache(
    "tenant looks", max_entries=1_000
)


async def tenant_look(tenant: Tenant) -> tuple[TenantInfo, Branding]:
    """The tenant's public info and validated branding (from its enabled branding plugins)."""
    enabled = tuple(await enabled_plugins(TenantScope(int(tenant.id)), max_age=PAGE_CACHE_SECONDS))
    cached = _looks.get(int(tenant.id), max_age=PAGE_CACHE_SECONDS)
    if cached is not None and cached[0] is tenant and cached[1] == enabled:
        return cached[2], cached[3]
    info = tenant_info(tenant)
    branding = await branding_for(info, list(enabled))
    _looks.put(int(tenant.id), (tenant, enabled, info, branding))
    return info, branding


def _mail_missing() -> bool:
    """Production without SMTP: staff pages warn that customer messages are not going out."""
    try:
        return config.active().mail_missing
    except RuntimeError:  # rendering outside a started app (a worker's template, a test)
        return False


# Methods of payments staff record by hand (core/payments/manual.py): no plugin owns them.
MANUAL_METHOD_LABELS = {"cash": "Efectivo", "cheque": "Cheque", "transfer": "Transferencia"}


async def page_context(request: Request, tenant: Tenant | None) -> dict[str, Any]:
    """What every page needs: tenant, branding, language helpers, link prefix."""
    if tenant is None:
        language = pick_language(
            request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), "es_MX"
        )
        fmt = formatter_for(language, "es_MX", "America/Mexico_City")
        prefix = ""
        branding = None
        info = None
    else:
        info, branding = await tenant_look(tenant)
        language = request_language(request, tenant.locale)
        fmt = formatter_for(language, tenant.locale, tenant.timezone)
        prefix = tenant_prefix(request, tenant)
    trans = translations(language)

    methods: dict[str, tuple[str, PaymentMethod]] = {}

    def method_text(method: str, text: str | None = None) -> str:
        """A payment method's label (or another of its texts) in the visitor's language."""
        if not methods:  # once per page, however many payments it lists
            methods.update(all_methods())
        owner = methods.get(str(method))
        if owner is None:
            if text is None and str(method) in MANUAL_METHOD_LABELS:  # recorded by staff
                return trans.gettext(MANUAL_METHOD_LABELS[str(method)])
            return str(text or method)
        return owner[1].text(owner[1].label if text is None else str(text), language)

    return {
        "mail_missing": _mail_missing(),
        "tenant": info,
        "branding": branding,
        "prefix": prefix,
        "lang": language,
        "languages": LANGUAGES,
        "lang_links": language_links(request),
        "fmt": fmt,
        "_": trans.gettext,
        "ngettext": trans.ngettext,
        "method_text": method_text,
        "is_htmx": request.headers.get("hx-request") == "true",
        "path": request.url.path,
    }


async def render(
    request: Request,
    template: str,
    tenant: Tenant | None = None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    ctx = await page_context(request, tenant)
    ctx.update(context)
    response = Template(template_name=template, context=ctx, status_code=status_code)
    requested = request.query_params.get("lang")
    if requested in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, requested, max_age=365 * 86400, httponly=True, samesite="lax"
        )
    return response


async def render_fragment(
    request: Request, template: str, tenant: Tenant | None = None, **context: Any
) -> Markup:
    """A template rendered to HTML now (not as a response), e.g. to cache it or embed it."""
    ctx = await page_context(request, tenant)
    ctx.update(context)
    engine = request.app.template_engine
    if engine is None:
        raise RuntimeError("the app has no template engine")
    # Every template autoescapes, so what it renders is safe HTML.
    return Markup(engine.get_template(template).render(**ctx))  # noqa: S704
