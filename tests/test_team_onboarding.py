"""Onboarding: ``tenants create --owner-email`` and ``staff invite`` print a one-time owner link;
the owner's staff home shows a checklist computed from real data until done or dismissed."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recaudo.cli import main
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.tables import AuditEvent, Payment, StaffToken, TeamPolicy
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import set_plugin
from tests.team_support import SECRET_KEY, team_world  # noqa: F401  (fixture)
from tests.test_staff_http import BASE, World, client, post, signed_in


@pytest.fixture
def world(team_world: World) -> World:  # noqa: F811
    return team_world


def cli(tmp: Path, *args: str) -> Result:
    env = {
        "RECAUDO_DATABASE_URL": f"sqlite:///{tmp}/cli.sqlite3",
        "RECAUDO_VAR_DIR": str(tmp),
        "RECAUDO_ENV": "development",
        "RECAUDO_BASE_URL": "https://cobros.example.com",
        "RECAUDO_SMTP_URL": "",
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_tenants_create_invites_its_owner(tmp_path: Path) -> None:
    assert cli(tmp_path, "migrate").exit_code == 0
    made = cli(
        tmp_path,
        "tenants",
        "create",
        "panaderia",
        "--name",
        "Panadería Sol",
        "--country",
        "MX",
        "--currency",
        "MXN",
        "--owner-email",
        "Duena@Panaderia.example",
        "--json",
    )
    assert made.exit_code == 0, made.output
    data = json.loads(made.output)
    invitation = data["owner_invitation"]
    assert invitation["email"] == "duena@panaderia.example" and invitation["role"] == "owner"
    assert invitation["link"].startswith("https://cobros.example.com/t/panaderia/staff/invitacion/")
    assert data["slug"] == "panaderia" and "email" in data["plugins"]

    text = cli(
        tmp_path, "tenants", "create", "tienda", "--name", "Tienda", "--country", "CO",
        "--currency", "COP", "--owner-email", "jefa@tienda.example",
    )  # fmt: skip
    assert text.exit_code == 0
    assert "owner invitation for jefa@tienda.example" in text.output
    assert "https://cobros.example.com/t/tienda/staff/invitacion/" in text.output

    more = cli(tmp_path, "staff", "invite", "panaderia", "caja@panaderia.example", "--json")
    assert more.exit_code == 0, more.output
    assert json.loads(more.output)["role"] == "collector"
    owner2 = cli(
        tmp_path, "staff", "invite", "panaderia", "socio@panaderia.example", "--role", "owner"
    )
    assert owner2.exit_code == 0 and "/t/panaderia/staff/invitacion/" in owner2.output


def test_bad_onboarding_input_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    assert cli(tmp_path, "migrate").exit_code == 0
    bad = cli(
        tmp_path, "tenants", "create", "x1", "--name", "X", "--country", "MX", "--currency",
        "MXN", "--owner-email", "not-an-email",
    )  # fmt: skip
    assert bad.exit_code == 2 and "--owner-email" in bad.output
    listing = cli(tmp_path, "tenants", "list", "--json")
    assert json.loads(listing.output)["tenants"] == []
    unknown = cli(tmp_path, "staff", "invite", "nadie", "a@b.example")
    assert unknown.exit_code == 1 and "not found" in unknown.output
    assert cli(tmp_path, "staff", "invite", "--help").exit_code == 0


# --- the checklist --------------------------------------------------------------------------------


def _items(html: str) -> dict[str, bool]:
    import re

    return {
        key: done == "yes"
        for key, done in re.findall(r'data-item="(\w+)" data-done="(yes|no)"', html)
    }


async def test_the_owner_checklist_follows_real_data(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as owner:
        home = await owner.get(f"{a.staff}/")
        assert home.status_code == 200 and 'id="onboarding-checklist"' in home.text
        assert _items(home.text) == {
            "branding": False,
            "payment_method": False,
            "customers": False,
            "team": True,  # the world's tenant already has a collector and a viewer
            "first_payment": False,
        }
        for path in ("/ajustes/marca", "/ajustes/pagos", "/importar"):  # the pending ones
            assert f'href="{a.staff}{path}"' in home.text
        english = await owner.get(f"{a.staff}/?lang=en")
        assert "First steps" in english.text and "Invite your team" in english.text

        tenant = await Tenant.objects().where(Tenant.id == a.scope.tenant_id).first()
        await Tenant.update({Tenant.branding: {"primary_color": "#123456"}}).where(
            Tenant.id == tenant.id
        )
        customer = await create_customer(a.scope, NewCustomer("C-9", "Cliente"), "MX")
        today = date.today()
        await create_invoice(
            a.scope,
            NewInvoice(
                customer_id=int(customer.id),
                number="F-9",
                issue_date=today,
                due_date=today + timedelta(days=30),
                currency="MXN",
                lines=(NewLine("Pan", 1, 10_000),),
            ),
        )
        await set_plugin(
            a.scope,
            "banktransfer",
            enabled=True,
            settings={
                "bank_name": "Banco",
                "account_holder": "Panadería",
                "account_number": "012580001234567897",
            },
            secret_key=SECRET_KEY,
        )
        from recaudo.core.common.local_cache import clear_all

        clear_all()  # the page may see its tenant's row up to 5 s late; not in this test
        later = await owner.get(f"{a.staff}/")
        items = _items(later.text)
        assert items["branding"] and items["customers"] and items["payment_method"], items
        assert not items["first_payment"]

        def payment(method: str, n: int) -> Payment:
            return Payment(
                customer=customer.id,
                method=method,
                status="approved",
                currency="MXN",
                amount=10_000,
                idempotency_key=f"k{n}",
                requested_invoices=[],
                checkout={},
            )

        await a.scope.add(payment("cash", 1))  # recorded by hand: not online
        assert not _items((await owner.get(f"{a.staff}/")).text)["first_payment"]
        await a.scope.add(payment("mercadopago", 2))
        assert "onboarding-checklist" not in (await owner.get(f"{a.staff}/")).text  # all done


async def test_only_owners_see_the_checklist_and_dismissing_it_is_audited(world: World) -> None:
    a = world.a
    for role in ("collector", "viewer"):
        async with signed_in(world, a, role) as c:
            home = await c.get(f"{a.staff}/")
            assert home.status_code == 200 and "onboarding-checklist" not in home.text
            refused = await post(c, a, f"{a.staff}/inicio/checklist/ocultar")
            assert refused.status_code == 403
    assert await a.scope.count(TeamPolicy) == 0
    async with signed_in(world, a) as owner:
        gone = await post(owner, a, f"{a.staff}/inicio/checklist/ocultar")
        assert gone.status_code == 303
        home = await owner.get(f"{a.staff}/")
        assert "onboarding-checklist" not in home.text
    dismissed = await a.scope.count(AuditEvent).where(AuditEvent.action == "team.policy_changed")
    assert dismissed == 1
    # the other tenant still has its own
    async with signed_in(world, world.b) as other:
        assert "onboarding-checklist" in (await other.get(f"{world.b.staff}/")).text


async def test_an_invited_owner_lands_on_the_checklist(world: World) -> None:
    from recaudo.core.access import staff_links

    a = world.a
    _row, token = await staff_links.invite(a.scope, "socia@example.com", "owner", "cli")
    link = staff_links.link_for(BASE, a.slug, "invite", token)
    async with client(world) as c:
        password = "una-clave-muy-larga"
        done = await post(
            c,
            a,
            link.removeprefix(BASE),
            {"name": "Socia", "password": password, "password2": password},
        )
        assert done.status_code == 303
        home = await c.get(done.headers["location"])
        assert 'id="onboarding-checklist"' in home.text
    assert await a.scope.count(StaffToken).where(StaffToken.used_at.is_not_null()) == 1
