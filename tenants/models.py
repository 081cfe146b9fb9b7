"""Tables owned by the platform itself: tenants, their domains, per-tenant plugin settings,
rate-limit hits, claimed schedule slots and plugin failures."""

from __future__ import annotations

from typing import Any

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

TENANT_STATUSES = ("active", "suspended")


class Tenant(Table, tablename="tenant"):
    """A business that collects from its customers through its own branded portal."""

    id: Any  # Piccolo adds the primary key column; declared for type checkers only
    slug = Varchar(length=63, unique=True, index=True)
    name = Varchar(length=200)
    country = Varchar(length=2)  # ISO 3166-1 alpha-2
    currency = Varchar(length=3)  # ISO 4217
    locale = Varchar(length=10, default="es_MX")
    timezone = Varchar(length=64, default="America/Mexico_City")
    status = Varchar(length=20, default="active")
    branding = JSON(default="{}")
    # Policy knobs (payment plans, bank details…) that a tenant's staff edit.
    policy = JSON(default="{}")
    # A tenant for trying Recaudo (demo, `tenants create --test`): only it may use the sandbox
    # gateway, and every page of its portal says "modo de prueba".
    test = Boolean(default=False)
    created_at = Timestamptz()


class TenantDomain(Table, tablename="tenant_domain"):
    """A custom domain (e.g. ``pagos.ferreteria.mx``) that serves one tenant's portal."""

    tenant = ForeignKey(Tenant, on_delete=OnDelete.cascade, index=True)
    domain = Varchar(length=253, unique=True, index=True)
    id: Any  # Piccolo adds the primary key column; declared for type checkers only


class RateLimitHit(Table, tablename="rate_limit_hit"):
    """One counted attempt in a rate-limit bucket (:mod:`recaudo.core.common.ratelimit`).

    Platform-wide, because some limits are (one IP across every tenant); a bucket that belongs
    to a tenant names it, e.g. ``link:contact:<tenant id>:<hash>``. Values are hashes only.
    """

    bucket = Varchar(length=150, index=True)
    at_ms = BigInt()  # epoch milliseconds: compares the same way on SQLite and PostgreSQL
    id: Any  # Piccolo adds the primary key column; declared for type checkers only


class ScheduleRun(Table, tablename="schedule_run"):
    """One slot of a periodic schedule, claimed by the scheduler that runs it
    (:mod:`recaudo.workers.scheduler`).

    ``slot_key`` (``"<schedule>@<slot start>"``) is unique: of several worker processes racing
    for a slot, the one whose insert succeeds enqueues its jobs; the others skip it.
    """

    slot_key = Varchar(length=250, unique=True)
    schedule = Varchar(length=200)
    slot = Timestamptz()
    claimed_at = Timestamptz()
    claimed_by = Varchar(length=100, default="")
    id: Any  # Piccolo adds the primary key column; declared for type checkers only


class PluginFailure(Table, tablename="plugin_failure"):
    """A plugin hook that raised or hung, counted per tenant (:mod:`recaudo.core.platform.guard`).

    Platform-owned: ``tenant`` is ``NULL`` for calls made for no tenant (routes, template folders,
    start-up), which staff of every tenant that enabled the plugin see. One row per tenant, plugin
    and hook, holding the last message.
    """

    tenant = ForeignKey(Tenant, on_delete=OnDelete.cascade, index=True, null=True)
    plugin = Varchar(length=100)
    hook = Varchar(length=100)
    message = Text(default="")
    times = Integer(default=1)  # how many failures (``count`` is taken by Table)
    first_seen = Timestamptz()
    last_seen = Timestamptz(index=True)
    id: Any  # Piccolo adds the primary key column; declared for type checkers only


class TenantOwned:
    """Mixin for every tenant-owned table: the tenant column is part of the row, always.

    Reads and writes go through :class:`recaudo.tenants.scoped.TenantScope`, which adds the
    tenant filter; a test lists every subclass and proves one tenant never sees another's rows.
    """

    tenant = ForeignKey(Tenant, on_delete=OnDelete.cascade, index=True, null=False)
    id: Any  # Piccolo adds the primary key column; declared for type checkers only

    def __init__(
        self,
        _data: dict[Any, Any] | None = None,
        _ignore_missing: bool = False,
        _exists_in_db: bool = False,
        **kwargs: Any,
    ) -> None:
        # Rows are built without a tenant and handed to TenantScope.add, which fills it in; the
        # NOT NULL column still refuses a row that bypassed the scope.
        names = {getattr(getattr(k, "_meta", None), "name", k) for k in (_data or {})} | set(kwargs)
        if "tenant" not in names:
            _ignore_missing = True
        super().__init__(_data, _ignore_missing, _exists_in_db, **kwargs)  # type: ignore[call-arg]


class PluginSetting(TenantOwned, Table, tablename="plugin_setting"):
    """A plugin switched on (or off) for one tenant, with its settings.

    Secret fields are stored encrypted with a key derived from ``RECAUDO_SECRET_KEY``.
    """

    plugin = Varchar(length=100)
    enabled = Boolean(default=False)
    settings = JSON(default="{}")
    updated_at = Timestamptz()
