"""``recaudo apikeys``: create, list and revoke a tenant's REST API keys."""

from __future__ import annotations

import json
from typing import Any

import click

from recaudo.core.tables import API_KEY_SCOPES


async def _scope_of(slug: str) -> tuple[Any, Any]:
    from recaudo.tenants.resolve import tenant_by_slug
    from recaudo.tenants.scoped import TenantScope

    tenant = await tenant_by_slug(slug.strip().lower())
    if tenant is None:
        raise LookupError(f"tenant {slug!r} not found (see 'recaudo tenants list')")
    return tenant, TenantScope(int(tenant.id))


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@click.group()
def apikeys() -> None:
    """Keys for the REST API (/api/v1). A key is shown once, when created."""


@apikeys.command("create")
@click.argument("slug")
@click.option(
    "--scope",
    "key_scope",
    required=True,
    type=click.Choice(API_KEY_SCOPES),
    help="read: GET only; write: also create and change.",
)
@click.option("--name", default="", help="What the key is for, e.g. 'ERP'.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def apikeys_create(slug: str, key_scope: str, name: str, as_json: bool) -> None:
    """Create a key for tenant SLUG and print it once (only its hash is stored)."""
    from recaudo.cli import _run, _settings
    from recaudo.core.access.apikeys import create_api_key

    settings = _settings()

    async def go() -> tuple[Any, Any]:
        tenant, scope = await _scope_of(slug)
        issued = await create_api_key(scope, key_scope=key_scope, name=name, actor="cli")
        return tenant, issued

    tenant, issued = _run(settings, go)
    data = {
        "key": issued.plaintext,
        "id": int(issued.row.id),
        "scope": key_scope,
        "tenant": str(tenant.slug),
        "name": str(issued.row.name),
        "prefix": str(issued.row.prefix),
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(
        f"created {key_scope} key {data['id']} for {tenant.slug}; "
        "store it now, it is not shown again:"
    )
    click.echo(issued.plaintext)


@apikeys.command("list")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def apikeys_list(slug: str, as_json: bool) -> None:
    """List tenant SLUG's keys (never the keys themselves)."""
    from recaudo.cli import _run, _settings
    from recaudo.core.access.apikeys import list_api_keys

    settings = _settings()

    async def go() -> list[dict[str, Any]]:
        _, scope = await _scope_of(slug)
        return [
            {
                "id": int(k.id),
                "name": str(k.name),
                "scope": str(k.scope),
                "prefix": str(k.prefix),
                "created_at": _when(k.created_at),
                "last_used_at": _when(k.last_used_at),
                "revoked_at": _when(k.revoked_at),
            }
            for k in await list_api_keys(scope)
        ]

    rows = _run(settings, go)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no API keys")
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
        used = r["last_used_at"] or "never"
        click.echo(
            f"{r['id']:>5}  rk_{r['prefix']}_…  {r['scope']:<5}  {state:<10}  "
            f"last used {used}  {r['name']}"
        )


@apikeys.command("revoke")
@click.argument("slug")
@click.argument("key_id", type=click.IntRange(1, 2**31 - 1))
def apikeys_revoke(slug: str, key_id: int) -> None:
    """Revoke key KEY_ID of tenant SLUG; it stops working at once."""
    from recaudo.cli import _run, _settings
    from recaudo.core.access.apikeys import revoke_api_key

    settings = _settings()

    async def go() -> Any:
        _, scope = await _scope_of(slug)
        return await revoke_api_key(scope, key_id, actor="cli")

    row = _run(settings, go)
    click.echo(f"revoked key {row.id} (rk_{row.prefix}_…) of {slug}")
