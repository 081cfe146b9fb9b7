"""The ``recaudo`` command line. Every command has ``--help``; list commands take ``--json``."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from recaudo.core.config import ConfigError, Settings, load_settings

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


def _run(settings: Settings, fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn`` with the database configured, turning expected errors into clear messages."""
    from recaudo.core import db

    async def main() -> T:
        db.configure(settings.database_url)
        await db.start_pool()
        try:
            return await fn()
        finally:
            await db.close_pool()

    try:
        return asyncio.run(main())
    except (ValueError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot reach the database: {exc}") from None


@click.group()
@click.version_option(package_name="recaudo")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Recaudo: self-hostable collections platform."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        logging.getLogger("piccolo").setLevel(logging.WARNING)


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""
    from recaudo.core import db

    settings = _settings()

    async def go() -> list[str]:
        with contextlib.redirect_stdout(io.StringIO()):
            return await db.migrate()

    ran = _run(settings, go)
    click.echo(f"applied {len(ran)} migration(s)" if ran else "database is up to date")


@main.command()
@click.option(
    "--history/--no-history",
    default=True,
    show_default=True,
    help="Also six months of paid invoices and promises, for the KPIs and the forecast.",
)
def demo(history: bool) -> None:
    """Create the demo tenants, customers, invoices and staff (idempotent; development only)."""
    from recaudo.demo import seed_demo

    settings = _settings()
    if not settings.is_development:
        # Refused with exit 1: shared demo passwords and a sandbox anyone can approve must
        # never land in a production database, and a script should notice.
        raise click.ClickException(
            "recaudo demo only runs with RECAUDO_ENV=development (this is "
            f"{settings.env}); nothing was created"
        )
    lines = _run(settings, lambda: seed_demo(settings, history=history))
    for line in lines:
        click.echo(line)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Web processes (use a real broker with more than one).",
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app (portal, back office, API, webhooks)."""
    import uvicorn

    settings = _settings()
    if workers > 1 and settings.broker_url == "embedded":
        raise click.ClickException(
            "RECAUDO_BROKER_URL: several web processes need redis:// or amqp://, not 'embedded'"
        )
    click.echo(
        f"Recaudo ({settings.env}) listening on {host}:{port} "
        f"(database: {_safe_url(settings.database_url)}, broker: {_safe_url(settings.broker_url)})"
    )
    click.echo(f"public address (RECAUDO_BASE_URL): {settings.base_url}")
    mismatch = _base_url_mismatch(settings.base_url, host, port)
    if mismatch:
        click.echo(f"warning: {mismatch}", err=True)
    if settings.mail_missing:
        click.echo(
            "warning: RECAUDO_SMTP_URL is not set: customer email (sign-in links included) "
            "waits in the database until it is",
            err=True,
        )
    uvicorn.run(
        "recaudo.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
        lifespan="on",
    )


@main.command()
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--queues",
    default="",
    metavar="Q1,Q2",
    help="Consume only these queues (payments, messages, events, default, reconciliation, "
    "einvoicing); all by default.",
)
def worker(threads: int, queues: str) -> None:
    """Run background jobs, the outbox relay and the scheduler (needs a redis:// or amqp://
    broker)."""
    from recaudo.workers.broker import parse_queues
    from recaudo.workers.process import run_worker

    try:
        chosen = parse_queues(queues)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--queues") from exc

    settings = _settings()
    if settings.broker_url == "embedded":
        raise click.ClickException(
            "RECAUDO_BROKER_URL is 'embedded': jobs already run inside 'recaudo serve'; "
            "set redis://… or amqp://… to run separate workers"
        )
    run_worker(settings, threads, chosen)


@main.group()
def tenants() -> None:
    """Create and list tenants."""


@tenants.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--country", required=True, help="ISO 3166 code, e.g. MX, CO.")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. MXN, COP.")
@click.option("--locale", default="es_MX", show_default=True)
@click.option("--timezone", default="America/Mexico_City", show_default=True)
@click.option(
    "--test",
    "test",
    is_flag=True,
    help="A test tenant: gets the sandbox gateway, and every portal page says 'modo de prueba'.",
)
@click.option(
    "--owner-email",
    default="",
    help="Invite this person as the tenant's owner: prints a one-time link (valid 72 hours).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tenants_create(
    slug: str,
    name: str,
    country: str,
    currency: str,
    locale: str,
    timezone: str,
    test: bool,
    owner_email: str,
    as_json: bool,
) -> None:
    """Create a tenant with the email channel and branding enabled.

    Payment methods are switched on once configured (bank details, provider credentials); only a
    --test tenant gets the sandbox gateway. --test is allowed in production too (a staging tenant
    to try the flow), since its portal says it is a test on every page.
    """
    from recaudo.demo import enable_default_plugins
    from recaudo.tenants.scoped import TenantScope
    from recaudo.tenants.service import NewTenant, create_tenant

    settings = _settings()

    from recaudo.core.access import staff_links

    if owner_email:
        try:
            owner_email = staff_links.normalise_email(owner_email)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--owner-email") from None

    async def go() -> tuple[Any, list[str], str]:
        new = NewTenant(slug, name, country, currency, locale, timezone, test=test)
        tenant = await create_tenant(new)
        scope = TenantScope(int(tenant.id))
        plugins = await enable_default_plugins(scope, settings, test=test)
        link = ""
        if owner_email:
            _row, token = await staff_links.invite(scope, owner_email, "owner", "cli")
            link = staff_links.link_for(settings.base_url, str(tenant.slug), "invite", token)
        return tenant, plugins, link

    tenant, plugins, link = _run(settings, go)
    if as_json:
        data = _tenant_data(tenant)
        data["portal"] = f"{settings.base_url}/t/{tenant.slug}/"
        data["staff"] = f"{settings.base_url}/t/{tenant.slug}/staff/"
        data["plugins"] = plugins
        data["owner_invitation"] = (
            {"email": owner_email, "role": "owner", "link": link} if link else None
        )
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    kind = "test tenant" if tenant.test else "tenant"
    click.echo(
        f"created {kind} {tenant.slug} (id {tenant.id}): {settings.base_url}/t/{tenant.slug}/"
    )
    click.echo(f"  plugins enabled: {', '.join(plugins)}")
    if link:
        click.echo(f"  owner invitation for {owner_email} (one-time link, valid 72 hours):")
        click.echo(f"  {link}")
    if not tenant.test:
        click.echo(
            "  no payment method yet; switch one on once configured, e.g. "
            f"recaudo plugins enable {tenant.slug} banktransfer --set bank_name=… "
            "--set account_holder=… --set account_number=…"
        )


@tenants.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tenants_show(slug: str, as_json: bool) -> None:
    """Show one tenant and the plugins enabled for it."""
    from recaudo.tenants.plugin_config import enabled_plugins
    from recaudo.tenants.resolve import tenant_by_slug
    from recaudo.tenants.scoped import TenantScope

    settings = _settings()

    async def go() -> dict[str, Any]:
        tenant = await tenant_by_slug(slug.strip().lower())
        if tenant is None:
            raise LookupError(f"tenant {slug!r} not found (see 'recaudo tenants list')")
        data = _tenant_data(tenant)
        data["plugins"] = sorted(await enabled_plugins(TenantScope(int(tenant.id))))
        data["portal"] = f"{settings.base_url}/t/{tenant.slug}/"
        return data

    data = _run(settings, go)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        click.echo(f"{key + ':':<10} {shown}")


def _tenant_data(t: Any) -> dict[str, Any]:
    return {
        "id": t.id,
        "slug": t.slug,
        "name": t.name,
        "country": t.country,
        "currency": t.currency,
        "locale": t.locale,
        "timezone": t.timezone,
        "status": t.status,
        "test": bool(t.test),
    }


@tenants.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tenants_list(as_json: bool) -> None:
    """List tenants."""
    from recaudo.tenants.service import list_tenants

    settings = _settings()
    rows = _run(settings, list_tenants)
    data = [_tenant_data(t) for t in rows]
    if as_json:
        click.echo(json.dumps({"tenants": data}, ensure_ascii=False, indent=2))
        return
    for t in data:
        click.echo(f"{t['slug']:<24} {t['country']} {t['currency']} {t['locale']:<6} {t['name']}")


class _ListingGroup(click.Group):
    """A group whose own options may also follow its argument (``SLUG --json``) when no
    subcommand is given; click otherwise stops reading group options at the first argument."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not any(a in self.commands for a in args):
            args = [a for a in args if a.startswith("-")] + [
                a for a in args if not a.startswith("-")
            ]
        return super().parse_args(ctx, args)


@tenants.group("plugins", cls=_ListingGroup, invoke_without_command=True)
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (the listing).")
@click.pass_context
def tenants_plugins(ctx: click.Context, slug: str, as_json: bool) -> None:
    """List SLUG's plugins: on or off, configured or what is missing, settings.

    Secret settings are shown only as "set" or "not set". Switch and configure one with
    'enable NAME', 'disable NAME' and 'set NAME KEY=VALUE … SECRET_KEY …' (see their --help).
    """
    ctx.obj = slug
    if ctx.invoked_subcommand is not None:
        return
    from recaudo.core.platform.switches import plugin_statuses

    settings = _settings()

    async def go() -> list[Any]:
        _tenant, scope = await _tenant_scope(slug)
        return await plugin_statuses(scope, settings.secret_key)

    rows = _run(settings, go)
    if as_json:
        data = [
            {
                "name": p.name,
                "enabled": p.enabled,
                "configured": p.configured,
                "missing": list(p.missing),
                "settings": p.settings,
                "error": p.error,
            }
            for p in rows
        ]
        click.echo(json.dumps({"tenant": slug, "plugins": data}, ensure_ascii=False, indent=2))
        return
    for p in rows:
        if p.error:
            state = f"ERROR: {p.error}"
        else:
            state = "configured" if p.configured else "missing: " + ", ".join(p.missing)
        click.echo(f"{p.name:<14} {'enabled' if p.enabled else 'disabled':<9} {state}")
        for key, value in p.settings.items():
            click.echo(f"    {key} = {value}")


def _switch_errors(fn: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
    """Unknown plugins and invalid settings are usage errors (exit 2); nothing was changed."""
    from recaudo.core.platform.switches import UnknownPlugin
    from recaudo.tenants.plugin_config import SettingsError

    async def wrapped() -> T:
        try:
            return await fn()
        except (UnknownPlugin, SettingsError) as exc:
            raise click.UsageError(f"{exc}; nothing was changed") from None

    return wrapped


@tenants_plugins.command("enable")
@click.argument("name")
@click.pass_obj
def tenants_plugins_enable(slug: str, name: str) -> None:
    """Switch plugin NAME on (a payment method only once configured; see 'set')."""
    from recaudo.core.platform.switches import enable_plugin, known_plugin
    from recaudo.tenants.service import tenant_info

    settings = _settings()

    async def go() -> None:
        tenant, scope = await _tenant_scope(slug)
        await known_plugin(scope, name)
        await enable_plugin(scope, tenant_info(tenant), name, None, settings.secret_key)

    _run(settings, _switch_errors(go))
    click.echo(f"{name} enabled for {slug}")


@tenants_plugins.command("disable")
@click.argument("name")
@click.pass_obj
def tenants_plugins_disable(slug: str, name: str) -> None:
    """Switch plugin NAME off (its settings are kept)."""
    from recaudo.core.platform.switches import disable_plugin, known_plugin

    settings = _settings()

    async def go() -> None:
        _tenant, scope = await _tenant_scope(slug)
        await known_plugin(scope, name)
        await disable_plugin(scope, name)

    _run(settings, _switch_errors(go))
    click.echo(f"{name} disabled for {slug}")


@tenants_plugins.command("set")
@click.argument("name")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE… SECRET_KEY…")
@click.pass_obj
def tenants_plugins_set(slug: str, name: str, assignments: tuple[str, ...]) -> None:
    """Change settings of plugin NAME, checked against the settings it declares.

    Give ordinary settings as KEY=VALUE (an empty VALUE clears one). Secret settings are never
    taken from the command line, where shell history and process lists would keep them: name
    the KEY alone and type the value at the hidden prompt, or pipe it on stdin (one line per
    secret, in order). An unknown key, a wrong type or a required setting left empty is an
    error (exit 2) and nothing is changed.
    """
    from recaudo.core.platform.switches import configure_plugin
    from recaudo.tenants.plugin_config import schema_of

    settings = _settings()
    schema = schema_of(name)
    secret = {f.name: f for f in schema.fields if f.secret} if schema else {}
    changes: dict[str, str] = {}
    asked: list[str] = []
    for item in assignments:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not key:
            raise click.UsageError(f"{item!r}: use KEY=VALUE")
        if sep and key in secret:
            raise click.UsageError(
                f"{name}.{key} is secret and is not taken on the command line: give '{key}' "
                "alone and type it at the prompt (or pipe it on stdin); nothing was changed"
            )
        if not sep and key not in secret:
            known = schema is not None and key in {f.name for f in schema.fields}
            hint = "use KEY=VALUE" if known or schema is None else "unknown setting"
            raise click.UsageError(f"{name}.{key}: {hint}; nothing was changed")
        if sep:
            changes[key] = value
        else:
            asked.append(key)
    for key in asked:
        changes[key] = _read_secret(f"{secret[key].label} ({name}.{key})", key)

    async def go() -> list[str]:
        _tenant, scope = await _tenant_scope(slug)
        return await configure_plugin(scope, name, changes, settings.secret_key)

    changed = _run(settings, _switch_errors(go))
    click.echo(f"{name} settings saved for {slug}: {', '.join(changed)}")


def _read_secret(prompt: str, key: str) -> str:
    """A secret from a hidden prompt on a terminal, else one line of stdin; never echoed."""
    if sys.stdin.isatty():
        value = str(click.prompt(prompt, hide_input=True))
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise click.UsageError(f"{key}: no value given on the prompt or stdin; nothing was changed")
    return value


@main.group()
def staff() -> None:
    """Manage back-office users."""


@staff.command("create")
@click.argument("tenant_slug")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["owner", "collector", "viewer"]),
    default="collector",
    show_default=True,
)
@click.option("--name", default="")
@click.password_option(help="At least 10 characters (prompted when omitted).")
def staff_create(tenant_slug: str, email: str, role: str, name: str, password: str) -> None:
    """Create a staff user for a tenant."""
    from recaudo.core.access.staff import create_staff
    from recaudo.tenants.resolve import tenant_by_slug
    from recaudo.tenants.scoped import TenantScope

    settings = _settings()

    async def go() -> Any:
        tenant = await tenant_by_slug(tenant_slug)
        if tenant is None:
            raise LookupError(f"tenant {tenant_slug!r} not found")
        return await create_staff(TenantScope(int(tenant.id)), email, password, role, name)

    user = _run(settings, go)
    click.echo(f"created {user.role} {user.email} for {tenant_slug}")


@staff.command("invite")
@click.argument("tenant_slug")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["owner", "collector", "viewer"]),
    default="collector",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def staff_invite(tenant_slug: str, email: str, role: str, as_json: bool) -> None:
    """Invite someone to a tenant's team: prints a one-time link (valid 72 hours).

    The person opens it, chooses a name and password, and is signed in with ROLE.
    """
    from recaudo.core.access import staff_links
    from recaudo.tenants.resolve import tenant_by_slug
    from recaudo.tenants.scoped import TenantScope

    settings = _settings()

    async def go() -> str:
        tenant = await tenant_by_slug(tenant_slug.strip().lower())
        if tenant is None:
            raise LookupError(f"tenant {tenant_slug!r} not found (see 'recaudo tenants list')")
        scope = TenantScope(int(tenant.id))
        _row, token = await staff_links.invite(scope, email, role, "cli")
        return staff_links.link_for(settings.base_url, str(tenant.slug), "invite", token)

    link = _run(settings, go)
    address = email.strip().lower()
    if as_json:
        data = {"tenant": tenant_slug, "email": address, "role": role, "link": link}
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"invited {address} as {role} to {tenant_slug} (one-time link, valid 72 hours):")
    click.echo(link)


@main.group()
def plugins() -> None:
    """Inspect installed plugins; switch them on or off per tenant."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_list(as_json: bool) -> None:
    """List installed plugins, where they come from, and load errors."""
    from recaudo.core.platform.host import get_host

    host = get_host()
    provides: dict[str, list[str]] = {}
    for hook in (
        "recaudo_payment_methods",
        "recaudo_notification_channels",
        "recaudo_einvoice_backends",
        "recaudo_contact_rules",
        "recaudo_match_rules",
    ):
        for plugin, item in host.provided(hook):
            provides.setdefault(plugin, []).append(f"{hook.removeprefix('recaudo_')}:{item.name}")
    data = [
        {
            "name": r.name,
            "source": r.source,
            "module": r.module,
            "version": r.version,
            "status": "ok" if r.ok else "error",
            "error": r.error,
            "hooks": sorted(h.name for h in host.pm.get_hookcallers(host.get(r.name)) or [])
            if r.ok
            else [],
            "provides": provides.get(r.name, []),
        }
        for r in host.records.values()
    ]
    if as_json:
        click.echo(json.dumps({"plugins": data}, ensure_ascii=False, indent=2))
        return
    for p in data:
        state = "ok" if p["status"] == "ok" else f"ERROR: {p['error']}"
        click.echo(f"{p['name']:<14} {p['source']:<12} {p['module']:<32} {state}")


@plugins.command("new")
@click.argument("name")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["payment", "channel", "einvoice", "branding"]),
    help="What the plugin provides.",
)
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to render into (an empty or new one; default ./recaudo-NAME).",
)
@click.option("--author", help="Author, as 'Name <email>'.")
@click.option("--description", help="One line saying what the plugin does.")
def plugins_new(
    name: str, kind: str, dest: Path | None, author: str | None, description: str | None
) -> None:
    """Start a plugin: render the plugin template (copier) as a distribution with tests."""
    from recaudo.scaffold import ScaffoldError, render

    try:
        done = render(name, kind, dest, author=author, description=description)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {done.distribution} ({kind} plugin {done.plugin!r}) in {done.path}")
    if not done.template_ref:
        click.echo("note: git was not found, so this project cannot follow template updates")
    click.echo("next:")
    click.echo(f"  cd {done.path}")
    click.echo('  pip install -e ".[test]"     # into the environment where Recaudo runs')
    click.echo("  pytest                       # its generated tests (recaudo.testing)")
    click.echo(f"  recaudo plugins list         # shows {done.plugin}")
    click.echo(f"  recaudo tenants plugins SLUG enable {done.plugin}")
    click.echo("  recaudo plugins update .     # later: pull fixes of the template (copier update)")


@plugins.command("update")
@click.argument(
    "project", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
def plugins_update(project: Path) -> None:
    """Re-apply this Recaudo's plugin template to a plugin made with 'plugins new'.

    The project must be a git work tree with everything committed; conflicts with your own
    changes are left inline for you to resolve.
    """
    from copier.errors import CopierError

    from recaudo.scaffold import ScaffoldError, update

    try:
        ref = update(project)
    except (ScaffoldError, CopierError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{project} now follows plugin template {ref}; review with 'git diff'")


def _tenant_scope(slug: str) -> Any:
    """``(tenant, scope)`` for a slug, or a clear LookupError."""

    async def find() -> Any:
        from recaudo.tenants.resolve import tenant_by_slug
        from recaudo.tenants.scoped import TenantScope

        tenant = await tenant_by_slug(slug.strip().lower())
        if tenant is None:
            raise LookupError(f"tenant {slug!r} not found (see 'recaudo tenants list')")
        return tenant, TenantScope(int(tenant.id))

    return find()


@plugins.command("enable")
@click.argument("tenant_slug")
@click.argument("plugin")
@click.option(
    "--set",
    "values",
    multiple=True,
    metavar="KEY=VALUE",
    help="A setting (repeat for each). Secret settings left out are asked for, unechoed.",
)
def plugins_enable(tenant_slug: str, plugin: str, values: tuple[str, ...]) -> None:
    """Switch a plugin on for a tenant; a payment method only once it is configured."""
    from recaudo.core.platform.switches import enable_plugin
    from recaudo.tenants.plugin_config import schema_of
    from recaudo.tenants.service import tenant_info

    settings = _settings()
    given: dict[str, Any] | None = None
    if values:
        given = {}
        for item in values:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise click.BadParameter(f"{item!r}: use KEY=VALUE", param_hint="--set")
            given[key.strip()] = value
        schema = schema_of(plugin)
        for f in schema.fields if schema else ():
            if f.secret and f.required and f.name not in given:
                given[f.name] = click.prompt(f.label, hide_input=True)

    async def go() -> None:
        tenant, scope = await _tenant_scope(tenant_slug)
        await enable_plugin(scope, tenant_info(tenant), plugin, given, settings.secret_key)

    _run(settings, go)
    click.echo(f"{plugin} enabled for {tenant_slug}")


@plugins.command("disable")
@click.argument("tenant_slug")
@click.argument("plugin")
def plugins_disable(tenant_slug: str, plugin: str) -> None:
    """Switch a plugin off for a tenant (its settings are kept)."""
    from recaudo.core.platform.switches import disable_plugin

    settings = _settings()

    async def go() -> None:
        _tenant, scope = await _tenant_scope(tenant_slug)
        await disable_plugin(scope, plugin)

    _run(settings, go)
    click.echo(f"{plugin} disabled for {tenant_slug}")


@main.command()
def check() -> None:
    """Check configuration, database, broker and plugins; exit 1 if anything is wrong."""
    from recaudo.core import db
    from recaudo.core.platform.host import get_host

    problems = 0
    try:
        settings = load_settings()
        click.echo(f"config:   ok ({settings.env}, links use {settings.base_url})")
    except ConfigError as exc:
        click.echo(f"config:   ERROR {exc}")
        sys.exit(1)
    if settings.smtp_url:
        click.echo(f"mail:     ok ({_safe_url(settings.smtp_url)})")
    elif settings.is_development:
        click.echo("mail:     development outbox at /dev/outbox (RECAUDO_SMTP_URL unset)")
    else:
        problems += 1
        click.echo(
            "mail:     ERROR RECAUDO_SMTP_URL is not set: customers get no sign-in links or "
            "notices (they wait in the database until it is)"
        )

    async def ping() -> bool:
        db.configure(settings.database_url)
        return await db.ping()

    try:
        asyncio.run(ping())
        click.echo(f"database: ok ({_safe_url(settings.database_url)})")
    except Exception as exc:
        problems += 1
        click.echo(f"database: ERROR {type(exc).__name__}: {exc}")
    from recaudo.workers.dead_jobs import report

    problems += report(click.echo)
    try:
        from recaudo.workers.broker import check_broker

        check_broker(settings.broker_url)
        click.echo(f"broker:   ok ({_safe_url(settings.broker_url)})")
    except Exception as exc:
        problems += 1
        click.echo(f"broker:   ERROR {type(exc).__name__}: {exc}")
    host = get_host()
    broken = [r for r in host.records.values() if not r.ok]
    click.echo(f"plugins:  {len(host.records) - len(broken)} ok, {len(broken)} failed")
    for r in broken:
        problems += 1
        click.echo(f"  {r.name}: {r.error}")
    from recaudo.core.platform.guard import report_recent

    report_recent(click.echo)  # a warning: callers fell back and kept working
    sys.exit(1 if problems else 0)


#: Kept out of the docstring so the column lists stay one line each (``\b``: click keeps them).
IMPORT_HELP = (
    "Import customers or invoices from a CSV (UTF-8, ',' or ';') or XLSX FILE.\n\n"
    'Every row is checked first; if any row is bad, each is listed as "line N: field: reason" '
    "and nothing is stored (exit 1). Otherwise all rows are imported at once (exit 0).\n\n"
    "\b\n"
    "Invoices. Columns: number, customer, issue_date, due_date, currency, amount, tax, "
    "description, external_id\n"
    "Customers. Columns: number, name, email, phone, tax_id, tax_country, preferred_channel\n\n"
    "Headers are matched without case or accents; Spanish names work too (folio, cliente, fecha, "
    "vencimiento, moneda, importe/monto/total, iva, concepto; nombre, correo, telefono, "
    "rfc/nit/rut). Required: number, customer, due_date, amount (invoices); number, name "
    "(customers). 'customer' is the customer's number; amounts are in major units ('1500.00', "
    "'1,500.00'); issue_date defaults to today and currency to the tenant's. See docs/imports.md."
)


class _ImportBar:
    """A terminal progress bar on stderr (only when stderr is a terminal): checking, importing."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.bar: Any = None
        self.phase = ""
        self.shown = 0

    def __call__(self, done: int, total: int, phase: str) -> None:
        if not self.enabled:
            return
        if phase != self.phase:
            self.close()
            label = {"checking": "checking ", "importing": "importing"}.get(phase, phase)
            self.bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
            self.bar.__enter__()
            self.phase, self.shown = phase, 0
        self.bar.length = max(total, 1)
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _parse_map(values: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in values:
        column, sep, target = item.partition("=")
        if not sep or not column.strip():
            raise click.UsageError(f"--map {item!r}: use FILE_COLUMN=FIELD (FIELD empty skips it)")
        mapping[column.strip()] = target.strip()
    return mapping


@main.command("import", help=IMPORT_HELP)
@click.argument("kind", type=click.Choice(["customers", "invoices"]))
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="FILE_COLUMN=FIELD",
    help="Read FILE_COLUMN as FIELD (repeatable; FIELD empty skips the column).",
)
@click.option(
    "--save-mapping",
    is_flag=True,
    help="Remember this file's column mapping as the tenant's default for KIND.",
)
def import_file(
    kind: str,
    file: Path,
    slug: str,
    dry_run: bool,
    as_json: bool,
    maps: tuple[str, ...],
    save_mapping: bool,
) -> None:
    from recaudo.core.billing import imports
    from recaudo.tenants.resolve import tenant_by_slug
    from recaudo.tenants.scoped import TenantScope

    settings = _settings()
    overrides = _parse_map(maps)
    bar = _ImportBar()

    async def go() -> imports.ImportResult:
        tenant = await tenant_by_slug(slug.strip().lower())
        if tenant is None:
            raise LookupError(f"tenant {slug!r} not found (see 'recaudo tenants list')")
        scope = TenantScope(int(tenant.id))
        saved = await imports.saved_mapping(scope, kind)
        try:
            result = await imports.run_import(
                scope,
                kind,
                file,
                filename=file.name,
                default_country=str(tenant.country),
                default_currency=str(tenant.currency),
                dry_run=dry_run,
                saved=saved,
                overrides=overrides,
                progress=bar,
                actor="cli",
            )
        finally:
            bar.close()
        if save_mapping:
            mapping = {**result.columns, **{column: "" for column in result.ignored}}
            await imports.save_mapping(scope, kind, mapping, "cli")
        return result

    result = _run(settings, go)
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        for error in result.errors:
            click.echo(str(error), err=True)
        if result.more_errors:
            click.echo(f"… and {result.more_errors} more bad rows", err=True)
        noun = kind if result.rows != 1 else kind[:-1]
        if result.errors:
            click.echo(
                f"{result.bad_rows} of {result.rows} rows are bad; nothing was imported", err=True
            )
        elif dry_run:
            click.echo(f"dry run: {result.rows} {noun} would be imported; nothing was stored")
        else:
            click.echo(f"imported {result.imported} {noun} from {file.name}")
        if result.ignored:
            click.echo(f"columns not imported: {', '.join(result.ignored)}", err=True)
    sys.exit(1 if result.errors else 0)


def _base_url_mismatch(base_url: str, host: str, port: int) -> str:
    """Why links printed and sent would not reach this server, when we can tell (local only)."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    local = {"127.0.0.1", "localhost", "::1"}
    if parts.hostname not in local or host not in local | {"0.0.0.0"}:  # noqa: S104
        return ""
    base_port = parts.port or (443 if parts.scheme == "https" else 80)
    if base_port == port:
        return ""
    return (
        f"RECAUDO_BASE_URL is {base_url} but the server listens on port {port}: links in "
        f"messages and printed by commands will not reach it; set "
        f"RECAUDO_BASE_URL=http://{parts.hostname}:{port}"
    )


def _safe_url(url: str) -> str:
    """Hide passwords in URLs before printing them."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _register_apikeys() -> None:
    from recaudo.cli_apikeys import apikeys

    main.add_command(apikeys)


_register_apikeys()


def _register_reminders() -> None:
    from recaudo.cli_reminders import reminders

    main.add_command(reminders)


_register_reminders()


def _register_bank() -> None:
    from recaudo.cli_bank import bank

    main.add_command(bank)


_register_bank()


def _register_einvoice() -> None:
    from recaudo.cli_einvoice import einvoice

    main.add_command(einvoice)


_register_einvoice()


if __name__ == "__main__":
    main()
