# Hookspecs are signatures with docstrings; their bodies are intentionally empty.
# mypy: disable-error-code="empty-body"
"""Every hook a Recaudo plugin can implement, in one file.

Hooks are named ``recaudo_*`` so a grep finds every use. A plugin is a module or object with
functions decorated by :data:`hookimpl` and is registered through the ``recaudo`` entry-point group;
built-in plugins are registered the same way. Plugins are installed once per deployment and
switched on per tenant: hooks that act for one tenant only reach the plugins that tenant enabled.

Hooks that act for one tenant receive the plugin's :class:`~recaudo.api.PluginContext` as
``ctx``; the host builds one per plugin, so no plugin is handed a secret or another plugin's
settings. Plugin authors import everything from :mod:`recaudo.api`.

Each hook is documented in ``docs/plugins.md``; a test fails when one is not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from piccolo.conf.apps import AppConfig

    from recaudo.core.config import Settings
    from recaudo.core.payments.method import PaymentMethod
    from recaudo.core.platform.context import PluginContext
    from recaudo.core.platform.extensions import (
        ContactRule,
        EInvoiceBackend,
        MatchRule,
        NotificationChannel,
    )
    from recaudo.core.platform.jobs import Job, Schedule
    from recaudo.core.platform.values import (
        Branding,
        InvoiceEvent,
        PaymentEvent,
        PluginSettingsSchema,
    )

PROJECT = "recaudo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- lifecycle ----------------------------------------------------------------------------------


@hookspec
def recaudo_startup(settings: Settings) -> None:
    """Called once when a web or worker process starts, after the database is configured.

    :param settings: the process configuration (secrets included; never log it).
    :returns: nothing. An exception is logged and the plugin is reported as failed; the host keeps
        running without it.
    """


# --- configuration ------------------------------------------------------------------------------


@hookspec
def recaudo_settings_schema() -> PluginSettingsSchema | None:
    """Declare the per-tenant settings this plugin needs (API keys, bank details, toggles).

    :returns: a :class:`PluginSettingsSchema` whose ``plugin`` is the plugin's entry-point name, or
        ``None``. Fields of type ``secret`` are stored encrypted, never shown back in forms and
        never logged. All results are collected (not firstresult).
    """


# --- storage ------------------------------------------------------------------------------------


@hookspec
def recaudo_piccolo_app() -> AppConfig | None:
    """Give the plugin's own tables and their migrations to ``recaudo migrate``.

    :returns: a Piccolo ``AppConfig`` (``app_name``, ``migrations_folder_path``,
        ``table_classes``) or ``None``. ``recaudo migrate`` runs core's migrations first, then each
        installed plugin's (enabled for a tenant or not), in plugin order; the database engine is
        attached to the app's tables. A table either mixes in ``TenantOwned`` (read it through
        ``ctx.db``) or carries the Piccolo tag ``"platform-wide"``; the isolation test flags any
        other. Name migration files ``<plugin>_NNNN_*.py``: Piccolo imports them by file name.
    """


# --- providers ----------------------------------------------------------------------------------


@hookspec
def recaudo_payment_methods() -> list[PaymentMethod]:
    """Offer payment methods (card/wallet checkout, bank transfer, cash voucher…).

    :returns: a list of :class:`~recaudo.core.payments.method.PaymentMethod` instances, each with a
        unique ``name``. All lists are concatenated. A tenant sees a method only when the plugin is
        enabled for it and :meth:`PaymentMethod.available_for` accepts the tenant and currency.
    """


@hookspec
def recaudo_einvoice_backends() -> list[EInvoiceBackend]:
    """Offer electronic-invoicing backends (e.g. Mexico's SAT CFDI through a PAC).

    :returns: a list of :class:`~recaudo.core.platform.extensions.EInvoiceBackend` instances;
        concatenated.
    """


@hookspec
def recaudo_notification_channels() -> list[NotificationChannel]:
    """Offer channels that deliver messages to customers (email, SMS, WhatsApp…).

    :returns: a list of :class:`~recaudo.core.platform.extensions.NotificationChannel`
        instances; all lists are concatenated. The one-time login link and reminders use the
        tenant's enabled channels.
    """


@hookspec
def recaudo_contact_rules() -> list[ContactRule]:
    """Offer rules on when collection messages may be sent (a country's law, a tenant's window).

    :returns: a list of :class:`~recaudo.core.platform.extensions.ContactRule` instances;
        concatenated. A rule applies to the tenants of its ``countries`` whether or not they
        enabled the plugin; a message it objects to is deferred to the moment it allows.
    """


@hookspec
def recaudo_match_rules() -> list[MatchRule]:
    """Offer rules that attribute bank statement lines to customers and invoices.

    :returns: a list of :class:`~recaudo.core.platform.extensions.MatchRule` instances;
        concatenated. A rule runs for the tenants of its ``countries`` (empty: every tenant) that
        enabled its plugin (the built-in ``match_basics`` needs no enabling) and name it in their
        reconciliation settings, in that order; its proposals are applied only above the
        tenant's confidence threshold and only when unambiguous.
    """


# --- presentation -------------------------------------------------------------------------------


@hookspec(firstresult=True)
def recaudo_branding(ctx: PluginContext) -> Branding | None:
    """Give a tenant's portal its look: display name, colours, logo, support contacts.

    :param ctx: this plugin's context for the tenant being rendered (``ctx.tenant``,
        ``ctx.settings``).
    :returns: a :class:`~recaudo.core.platform.values.Branding` or ``None`` to let the next plugin
        decide. firstresult: the first non-``None`` answer wins, so a third-party theme enabled for
        a tenant overrides the built-in one. Values are untrusted and validated by the host; a
        plugin that raises, hangs or answers something else is recorded and passed over.
    """


@hookspec
def recaudo_template_dirs() -> list[str]:
    """Add folders of Jinja2 templates (a plugin's pages, or overrides of built-in templates).

    :returns: absolute folder paths; all lists are concatenated and searched before the built-in
        templates, in plugin registration order.
    """


@hookspec
def recaudo_routes() -> list[Any]:
    """Add HTTP route handlers (Litestar handlers or controllers) to the web app.

    Plugins use this for their own pages and callbacks, e.g. the sandbox gateway's checkout page.
    A handler gets its tenant's context with ``await recaudo.api.plugin_context(request, plugin,
    slug)`` (``None``: answer 404) and reads data only through ``ctx.db``.

    :returns: a list of Litestar route handlers; concatenated.
    """


# --- domain events ------------------------------------------------------------------------------


@hookspec
def recaudo_invoice_event(ctx: PluginContext, event: InvoiceEvent) -> None:
    """An invoice was created, paid, reopened or voided (called after the change is committed).

    :param ctx: the plugin's context for the event's tenant (``PluginContext``).
    :param event: what happened, with the tenant and the invoice's balance at the time.
    :returns: nothing. Each enabled plugin is called from its own job on the ``events`` queue:
        an exception or a hang (time limit) is retried per the job's retry policy and dead-lettered
        when it gives up, without delaying other plugins; it never undoes the change. The hook
        may run more than once for one event, so make it idempotent. May be ``async def``.
    """


@hookspec
def recaudo_payment_event(ctx: PluginContext, event: PaymentEvent) -> None:
    """A payment changed status: approved, rejected, refunded, charged back (after commit).

    :param ctx: the plugin's context for the event's tenant (``PluginContext``).
    :param event: what happened, with the tenant, amount and method.
    :returns: nothing. Delivered like :func:`recaudo_invoice_event`: its own job per plugin,
        retried on failure or timeout, at least once. May be ``async def``.
    """


# --- background work ----------------------------------------------------------------------------


@hookspec
def recaudo_jobs() -> list[Job]:
    """Declare the plugin's background job kinds.

    :returns: a list of :class:`~recaudo.core.platform.jobs.Job`; all lists are concatenated. A
        job is named ``"<plugin>.<name>"`` (the prefix is added if missing) and becomes a dramatiq
        actor on ``job.queue``. ``ctx.enqueue(name, payload, key)`` queues one in the current
        transaction; its handler ``async def handler(ctx, payload)`` runs only for tenants that
        enabled the plugin, within ``time_limit``, retried per ``retry``.
    """


@hookspec
def recaudo_schedules() -> list[Schedule]:
    """Declare periodic work: run one of the plugin's jobs every ``every``.

    :returns: a list of :class:`~recaudo.core.platform.jobs.Schedule` naming a job from
        :func:`recaudo_jobs`; concatenated. However many worker processes run, each slot fires
        once; a ``per_tenant`` schedule queues one job per tenant that enabled the plugin.
    """
