"""The staff back office over HTTP: login, roles, tenant isolation, CSRF and the inbox decisions.

Items are created straight through ``TenantScope`` (the customer pages that create them are
built separately). ``World`` seeds two tenants with the same kinds of items, so every route can
be tried with the other tenant's ids.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from recaudo.core.access.staff import create_staff
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.config import Settings
from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import (
    AuditEvent,
    ChatMessage,
    Dispute,
    HardshipRequest,
    Invoice,
    Payment,
    PaymentPlan,
    PaymentProof,
    PortalSession,
    Ticket,
)
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant

PASSWORD = "clave-de-prueba-123"
BASE = "http://testserver"


@dataclass
class Side:
    """One tenant with one item of every kind the inbox shows."""

    slug: str
    scope: TenantScope
    currency: str
    customer: int = 0
    invoices: list[int] = field(default_factory=list)
    ticket: int = 0
    dispute: int = 0
    proof: int = 0
    hardship: int = 0
    plan: int = 0

    @property
    def staff(self) -> str:
        return f"/t/{self.slug}/staff"

    def email(self, role: str) -> str:
        return f"{role}@{self.slug}.example"

    async def balance(self, invoice_id: int) -> int:
        invoice = await self.scope.get(Invoice, invoice_id)
        assert invoice is not None
        return invoice.balance

    async def new_proof(self, amount: int, invoice_ids: list[int] | None = None) -> int:
        proof = PaymentProof(
            customer=self.customer,
            invoice_ids=invoice_ids if invoice_ids is not None else [self.invoices[0]],
            currency=self.currency,
            amount=amount,
            filename="transferencia ñandú.pdf",
            content_type="application/pdf",
            content=b"%PDF-1.4 comprobante",
        )
        await self.scope.add(proof)
        return int(proof.id)


async def seed(slug: str, country: str, currency: str) -> Side:
    tenant = await make_tenant(slug, country, currency)
    side = Side(slug, TenantScope(int(tenant.id)), currency)
    scope = side.scope
    for role in ("owner", "collector", "viewer"):
        await create_staff(scope, side.email(role), PASSWORD, role, role.title())
    customer = await create_customer(
        scope, NewCustomer("C-1", "Cliente <b>Uno</b>", email=f"cliente@{slug}.example"), country
    )
    side.customer = int(customer.id)
    today = date.today()
    for number, amount in (("F-1", 100_000), ("F-2", 50_000)):
        invoice = await create_invoice(
            scope,
            NewInvoice(
                customer_id=side.customer,
                number=number,
                issue_date=today - timedelta(days=40),
                due_date=today - timedelta(days=10),
                currency=currency,
                lines=(NewLine("Servicio", 1, amount),),
            ),
        )
        side.invoices.append(int(invoice.id))
    await scope.add(ChatMessage(customer=side.customer, sender="customer", body="¿Me ayudan?"))
    ticket = Ticket(
        customer=side.customer,
        name="Ana",
        contact="ana@example.com",
        subject="Factura duplicada",
        message="Me llegó dos veces.",
    )
    dispute = Dispute(
        invoice=side.invoices[0],
        customer=side.customer,
        reason="wrong_amount",
        message="El monto no coincide.",
    )
    plan = PaymentPlan(
        customer=side.customer,
        status="review",
        currency=currency,
        total=50_000,
        down_payment=0,
        installments_count=3,
        invoice_ids=[side.invoices[1]],
        reason="lost_income",
    )
    await scope.add(ticket)
    await scope.add(dispute)
    await scope.add(plan)
    await scope.update(Invoice, {Invoice.disputed: True}).where(Invoice.id == side.invoices[0])
    hardship = HardshipRequest(
        customer=side.customer, reason="illness", message="Estoy enfermo.", outcome="review"
    )
    await scope.add(hardship)
    side.ticket, side.dispute, side.plan = int(ticket.id), int(dispute.id), int(plan.id)
    side.hardship = int(hardship.id)
    side.proof = await side.new_proof(100_000)
    return side


@dataclass
class World:
    app: Any
    a: Side
    b: Side


@pytest.fixture
async def world(database: str, host: PluginHost) -> World:
    from tests.apps import asgi_app

    settings = Settings(
        env="development", database_url=database, secret_key="x" * 40, base_url=BASE
    )
    app = asgi_app(settings)  # same URL: keeps the fixture's engine
    suffix = uuid.uuid4().hex[:6]
    a = await seed(f"alfa-{suffix}", "MX", "MXN")
    b = await seed(f"beta-{suffix}", "CO", "COP")
    return World(app, a, b)


@asynccontextmanager
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        yield c


async def csrf(c: httpx.AsyncClient, side: Side) -> str:
    if "csrftoken" not in c.cookies:
        await c.get(f"{side.staff}/login")
    return str(c.cookies["csrftoken"])


async def post(
    c: httpx.AsyncClient,
    side: Side,
    url: str,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    form = {"_csrf_token": await csrf(c, side), **(data or {})}
    return await c.post(url, data=form, headers={"accept": "text/html", **(headers or {})})


async def login(
    c: httpx.AsyncClient,
    side: Side,
    role: str = "owner",
    password: str = PASSWORD,
    email: str | None = None,
) -> httpx.Response:
    return await post(
        c, side, f"{side.staff}/login", {"email": email or side.email(role), "password": password}
    )


@asynccontextmanager
async def signed_in(
    world: World, side: Side, role: str = "owner"
) -> AsyncIterator[httpx.AsyncClient]:
    async with client(world) as c:
        response = await login(c, side, role)
        assert response.status_code == 303, response.text
        yield c


def reading_routes(side: Side) -> list[str]:
    s = side.staff
    return [
        f"{s}/",
        f"{s}/?tab=proofs",
        f"{s}/chats/{side.customer}",
        f"{s}/chats/{side.customer}/messages",
        f"{s}/tickets/{side.ticket}",
        f"{s}/disputes/{side.dispute}",
        f"{s}/proofs/{side.proof}",
        f"{s}/proofs/{side.proof}/file",
        f"{s}/hardship/{side.hardship}",
        f"{s}/plans/{side.plan}",
    ]


def acting_routes(side: Side) -> list[tuple[str, dict[str, str]]]:
    s = side.staff
    return [
        (f"{s}/chats/{side.customer}", {"body": "Hola, ¿en qué te ayudo?"}),
        (f"{s}/tickets/{side.ticket}/close", {}),
        (f"{s}/disputes/{side.dispute}/resolve", {"decision": "reject", "reason": "Correcto"}),
        (f"{s}/proofs/{side.proof}/confirm", {}),
        (f"{s}/proofs/{side.proof}/reject", {"reason": "No llegó"}),
        (f"{s}/hardship/{side.hardship}/review", {"decision": "approve"}),
        (f"{s}/plans/{side.plan}/review", {"decision": "approve"}),
    ]


def with_other_ids(mine: Side, theirs: Side) -> Side:
    """``theirs``' ids under ``mine``'s URLs: what a curious staff member of ``mine`` would try."""
    return Side(
        mine.slug,
        mine.scope,
        mine.currency,
        theirs.customer,
        theirs.invoices,
        theirs.ticket,
        theirs.dispute,
        theirs.proof,
        theirs.hardship,
        theirs.plan,
    )


# --- login ----------------------------------------------------------------------------------------


async def test_login_page_in_spanish_and_english(world: World) -> None:
    async with client(world) as c:
        es = await c.get(f"{world.a.staff}/login")
        en = await c.get(f"{world.a.staff}/login?lang=en")
    assert es.status_code == 200 and "Acceso del equipo" in es.text
    assert 'name="_csrf_token"' in es.text
    assert en.status_code == 200 and "Team sign-in" in en.text


async def test_login_ok_opens_the_inbox(world: World) -> None:
    async with client(world) as c:
        response = await login(c, world.a)
        assert response.status_code == 303
        assert response.headers["location"] == f"{world.a.staff}/"
        cookie = response.headers["set-cookie"]
        assert "recaudo_staff=" in cookie and "HttpOnly" in cookie
        assert f"Path={world.a.staff}" in cookie and "SameSite=lax" in cookie
        page = await c.get(f"{world.a.staff}/")
    assert page.status_code == 200
    assert "Chats por responder" in page.text and "¿Me ayudan?" in page.text
    assert "Cliente &lt;b&gt;Uno&lt;/b&gt;" in page.text  # customer text is escaped
    assert "Chats por responder" in page.text
    events = await world.a.scope.select(AuditEvent).where(AuditEvent.action == "staff.login")
    assert len(events) == 1


async def test_not_signed_in_is_sent_to_login_everywhere(world: World) -> None:
    async with client(world) as c:
        for url in reading_routes(world.a):
            response = await c.get(url)
            assert response.status_code == 303, url
            assert response.headers["location"].startswith(f"{world.a.staff}/login"), url
        for url, data in acting_routes(world.a):
            response = await post(c, world.a, url, data)
            assert response.status_code == 303, url
            assert response.headers["location"] == f"{world.a.staff}/login", url
        htmx = await c.get(
            f"{world.a.staff}/chats/{world.a.customer}/messages", headers={"hx-request": "true"}
        )
        assert htmx.headers["hx-redirect"] == f"{world.a.staff}/login"
    # nothing was changed by the anonymous posts
    assert (await world.a.scope.get(PaymentProof, world.a.proof)).status == "pending"


async def test_login_returns_to_the_page_asked_for(world: World) -> None:
    target = f"{world.a.staff}/proofs/{world.a.proof}"
    async with client(world) as c:
        first = await c.get(target)
        assert first.headers["location"] == f"{world.a.staff}/login?next={target}"
        form = await c.get(first.headers["location"])
        assert f'name="next" value="{target}"' in form.text
        done = await post(
            c,
            world.a,
            f"{world.a.staff}/login",
            {"email": world.a.email("owner"), "password": PASSWORD, "next": target},
        )
        assert done.headers["location"] == target
        evil = await post(
            c,
            world.a,
            f"{world.a.staff}/login",
            {
                "email": world.a.email("owner"),
                "password": PASSWORD,
                "next": "https://evil.example/",
            },
        )
        assert evil.headers["location"] == f"{world.a.staff}/"


async def test_bad_password_and_unknown_email_get_the_same_answer(world: World) -> None:
    async with client(world) as c:
        wrong = await login(c, world.a, password="no-es-la-clave")
        unknown = await login(c, world.a, email="nadie@alfa.example")
        other_tenant = await login(c, world.a, email=world.b.email("owner"))
        empty = await post(c, world.a, f"{world.a.staff}/login", {"email": "", "password": ""})
    for response in (wrong, unknown, other_tenant):
        assert response.status_code == 401
        assert "Correo o contraseña incorrectos." in response.text
        assert "recaudo_staff=" not in response.headers.get("set-cookie", "")
    assert empty.status_code == 400


async def test_failed_logins_are_rate_limited_per_email(world: World) -> None:
    async with client(world) as c:
        for _ in range(5):
            assert (await login(c, world.a, password="mala-clave-000")).status_code == 401
        limited = await login(c, world.a)  # even the right password waits now
        assert limited.status_code == 429
        assert "Demasiados intentos" in limited.text and limited.headers["retry-after"] == "900"
        # another account of the tenant, and the same email at another tenant, are not affected
        assert (await login(c, world.a, "collector")).status_code == 303
    async with client(world) as c:
        assert (await login(c, world.b, "owner")).status_code == 303
    failures = await world.a.scope.count(AuditEvent).where(
        AuditEvent.action == "staff.login_failed"
    )
    assert failures == 5


async def test_old_failures_do_not_count(world: World) -> None:
    import time

    from recaudo.core.access.staff import login_limits
    from recaudo.tenants.models import RateLimitHit

    # Five failures 16 minutes ago, in the counts the limit reads.
    by_email, _ = login_limits(world.a.scope, world.a.email("owner"), "127.0.0.1")
    old = int((time.time() - 16 * 60) * 1000)
    for _ in range(5):
        await RateLimitHit(bucket=by_email.bucket, at_ms=old).save()
    async with client(world) as c:
        assert (await login(c, world.a)).status_code == 303
    # The same five a minute ago do count.
    recent = int((time.time() - 60) * 1000)
    for _ in range(5):
        await RateLimitHit(bucket=by_email.bucket, at_ms=recent).save()
    async with client(world) as c:
        assert (await login(c, world.a)).status_code == 429


async def test_a_successful_login_resets_the_email_count(world: World) -> None:
    async with client(world) as c:
        for _ in range(4):
            await login(c, world.a, password="mala-clave-000")
        assert (await login(c, world.a)).status_code == 303
        for _ in range(4):
            assert (await login(c, world.a, password="mala-clave-000")).status_code == 401
        assert (await login(c, world.a)).status_code == 303


async def test_failed_logins_are_rate_limited_per_address(world: World) -> None:
    async with client(world) as c:
        for i in range(20):
            response = await login(c, world.a, email=f"intruso{i}@alfa.example", password="x" * 12)
            assert response.status_code == 401
        assert (await login(c, world.a, "viewer")).status_code == 429


async def test_session_rotates_on_login_and_ends_on_logout(world: World) -> None:
    async with client(world) as c:
        await login(c, world.a)
        first = c.cookies["recaudo_staff"]
        await login(c, world.a, "collector")
        second = c.cookies["recaudo_staff"]
        assert first != second
        assert await world.a.scope.count(PortalSession) == 1  # the old session row is gone
        assert (await c.get(f"{world.a.staff}/")).status_code == 200
        out = await post(c, world.a, f"{world.a.staff}/logout")
        assert out.status_code == 303 and out.headers["location"] == f"{world.a.staff}/login"
        assert await world.a.scope.count(PortalSession) == 0
    async with client(world) as stale:
        for token in (first, second):
            response = await stale.get(
                f"{world.a.staff}/", headers={"cookie": f"recaudo_staff={token}"}
            )
            assert response.status_code == 303


async def test_a_session_of_tenant_a_is_worthless_at_tenant_b(world: World) -> None:
    async with signed_in(world, world.a) as c:
        token = c.cookies["recaudo_staff"]
    async with client(world) as other:
        response = await other.get(
            f"{world.b.staff}/", headers={"cookie": f"recaudo_staff={token}"}
        )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{world.b.staff}/login")


async def test_deactivated_staff_lose_their_session(world: World) -> None:
    from recaudo.core.tables import StaffUser

    async with signed_in(world, world.a, "collector") as c:
        await world.a.scope.update(StaffUser, {StaffUser.active: False}).where(
            StaffUser.email == world.a.email("collector")
        )
        assert (await c.get(f"{world.a.staff}/")).status_code == 303


# --- isolation, roles, CSRF -----------------------------------------------------------------------


async def test_tenant_b_ids_are_not_found_on_every_route(world: World) -> None:
    probe = with_other_ids(world.a, world.b)
    async with signed_in(world, world.a) as c:
        for url in reading_routes(probe)[2:]:
            response = await c.get(url, headers={"accept": "text/html"})
            assert response.status_code == 404, url
            assert "text/html" in response.headers["content-type"]
        for url, data in acting_routes(probe):
            response = await post(c, world.a, url, data)
            assert response.status_code == 404, url
        inbox = await c.get(f"{world.a.staff}/?tab=tickets")
    assert world.b.slug not in inbox.text
    # B's items are untouched
    b = world.b.scope
    assert (await b.get(PaymentProof, world.b.proof)).status == "pending"
    assert (await b.get(Ticket, world.b.ticket)).status == "open"
    assert (await b.get(Dispute, world.b.dispute)).status == "open"
    assert (await b.get(HardshipRequest, world.b.hardship)).status == "open"
    assert (await b.get(PaymentPlan, world.b.plan)).status == "review"
    assert await b.count(ChatMessage) == 1
    assert await b.count(Payment) == 0


async def test_inbox_counts_only_this_tenant(world: World) -> None:
    await world.b.new_proof(5_000)
    async with signed_in(world, world.a) as c:
        page = await c.get(f"{world.a.staff}/?tab=proofs")
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', page.text))
    assert counts == {"chats": "1", "proofs": "1", "disputes": "1", "hardship": "2", "tickets": "1"}


async def test_viewer_reads_but_every_action_is_forbidden(world: World) -> None:
    async with signed_in(world, world.a, "viewer") as c:
        for url in reading_routes(world.a):
            assert (await c.get(url)).status_code == 200, url
        proof_page = await c.get(f"{world.a.staff}/proofs/{world.a.proof}")
        chat_page = await c.get(f"{world.a.staff}/chats/{world.a.customer}")
        for url, data in acting_routes(world.a):
            response = await post(c, world.a, url, data)
            assert response.status_code == 403, url
            assert "solo lectura" in response.text, url
        as_json = await c.post(
            acting_routes(world.a)[1][0],
            data={"_csrf_token": await csrf(c, world.a)},
            headers={"accept": "application/json"},
        )
    assert as_json.status_code == 403 and "solo lectura" in as_json.json()["detail"]
    assert "/confirm" not in proof_page.text and "/reject" not in proof_page.text
    assert "solo lectura" in proof_page.text
    assert 'name="body"' not in chat_page.text
    assert (await world.a.scope.get(PaymentProof, world.a.proof)).status == "pending"
    assert await world.a.scope.count(ChatMessage) == 1
    assert await world.a.scope.count(Payment) == 0


async def test_collector_sees_the_action_buttons(world: World) -> None:
    async with signed_in(world, world.a, "collector") as c:
        page = await c.get(f"{world.a.staff}/proofs/{world.a.proof}")
    assert f"{world.a.staff}/proofs/{world.a.proof}/confirm" in page.text


async def test_csrf_is_enforced(world: World) -> None:
    async with signed_in(world, world.a) as c:
        url = f"{world.a.staff}/proofs/{world.a.proof}/confirm"
        missing = await c.post(url, data={})
        wrong = await c.post(url, data={"_csrf_token": "0" * 64})
        assert missing.status_code == 403 and wrong.status_code == 403
        assert (await world.a.scope.get(PaymentProof, world.a.proof)).status == "pending"
        header = await c.post(url, headers={"x-csrftoken": c.cookies["csrftoken"]})
        assert header.status_code == 303
    async with client(world) as anonymous:
        assert (
            await anonymous.post(
                f"{world.a.staff}/login",
                data={"email": world.a.email("owner"), "password": PASSWORD},
            )
        ).status_code == 403


async def test_bad_ids_and_bad_input_are_client_errors(world: World) -> None:
    s = world.a.staff
    long = "x" * 501
    async with signed_in(world, world.a) as c:
        for url in (
            f"{s}/proofs/abc",
            f"{s}/proofs/99999999999999999999999",
            f"{s}/chats/-1",
            f"{s}/tickets/0",
            f"{s}/nothing-here",
        ):
            response = await c.get(url)
            assert 400 <= response.status_code < 500, url
        cases = [
            (f"{s}/disputes/{world.a.dispute}/resolve", {"decision": "maybe"}),
            (f"{s}/disputes/{world.a.dispute}/resolve", {"decision": "reject", "reason": " "}),
            (f"{s}/disputes/{world.a.dispute}/resolve", {"decision": "reject", "reason": long}),
            (f"{s}/proofs/{world.a.proof}/reject", {}),
            (f"{s}/hardship/{world.a.hardship}/review", {"decision": ""}),
            (f"{s}/plans/{world.a.plan}/review", {}),
            (f"{s}/chats/{world.a.customer}", {"body": "   "}),
            (f"{s}/chats/{world.a.customer}", {"body": "x" * 2001}),
        ]
        for url, data in cases:
            response = await post(c, world.a, url, data)
            assert response.status_code == 400, (url, data)
            assert "alert" in response.text
        english = await c.post(
            f"{s}/proofs/{world.a.proof}/reject?lang=en",
            data={"_csrf_token": c.cookies["csrftoken"]},
            headers={"accept": "text/html"},
        )
        assert english.status_code == 400 and "Write the reason." in english.text


# --- proofs ---------------------------------------------------------------------------------------


async def test_confirming_a_proof_pays_once_even_if_posted_twice(world: World) -> None:
    a = world.a
    invoice = a.invoices[0]
    assert await a.balance(invoice) == 100_000
    url = f"{a.staff}/proofs/{a.proof}/confirm"
    async with signed_in(world, a, "collector") as c:
        first = await post(c, a, url)
        second = await post(c, a, url)
        page = await c.get(f"{a.staff}/proofs/{a.proof}")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == f"{a.staff}/proofs/{a.proof}"
    assert await a.balance(invoice) == 0
    assert await a.balance(a.invoices[1]) == 50_000
    proof = await a.scope.get(PaymentProof, a.proof)
    payments = await a.scope.objects(Payment)
    assert len(payments) == 1 and proof.status == "confirmed" and proof.payment == payments[0].id
    assert payments[0].status == "approved" and payments[0].amount == 100_000
    assert payments[0].idempotency_key == f"banktransfer:proof:{a.proof}"
    assert "Confirmado" in page.text
    audit = await a.scope.count(AuditEvent).where(AuditEvent.action == "proof.confirmed")
    assert audit == 1
    # once confirmed it cannot be rejected
    async with signed_in(world, a) as c:
        assert (
            await post(c, a, f"{a.staff}/proofs/{a.proof}/reject", {"reason": "tarde"})
        ).status_code == 409


async def test_rejecting_a_proof_leaves_balances_alone(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as c:
        response = await post(
            c,
            a,
            f"{a.staff}/proofs/{a.proof}/reject",
            {"reason": "No vemos la transferencia en el banco"},
        )
        assert response.status_code == 303
        again = await post(c, a, f"{a.staff}/proofs/{a.proof}/confirm")
        assert again.status_code == 409
        page = await c.get(f"{a.staff}/proofs/{a.proof}")
    proof = await a.scope.get(PaymentProof, a.proof)
    assert proof.status == "rejected" and proof.payment is None
    assert proof.decision_reason == "No vemos la transferencia en el banco"
    assert "No vemos la transferencia en el banco" in page.text
    assert [await a.balance(i) for i in a.invoices] == [100_000, 50_000]
    assert await a.scope.count(Payment) == 0


async def test_proof_for_an_invoice_paid_meanwhile_goes_oldest_first(world: World) -> None:
    a = world.a
    first = await a.new_proof(100_000)
    second = await a.new_proof(30_000)  # names the same invoice
    async with signed_in(world, a) as c:
        await post(c, a, f"{a.staff}/proofs/{first}/confirm")
        response = await post(c, a, f"{a.staff}/proofs/{second}/confirm")
    assert response.status_code == 303
    assert await a.balance(a.invoices[0]) == 0
    assert await a.balance(a.invoices[1]) == 20_000


async def test_proof_file_is_an_attachment_named_by_its_content(world: World) -> None:
    """The customer's name and declared type are ignored: ``poly.html`` that starts like a PDF
    is served as ``comprobante-<id>.pdf``, and bytes we cannot identify as an opaque ``.bin``."""
    a = world.a
    html = PaymentProof(
        customer=a.customer,
        invoice_ids=[],
        currency=a.currency,
        amount=1_000,
        filename='../x"evil.html',
        content_type="text/html",
        content=b"<script>alert(1)</script>",
    )
    poly = PaymentProof(
        customer=a.customer,
        invoice_ids=[],
        currency=a.currency,
        amount=1_000,
        filename="poly.html",
        content_type="application/pdf",
        content=b"%PDF-1.4 <html><script>alert(1)</script></html>",
    )
    await a.scope.add(html, poly)
    async with signed_in(world, a, "viewer") as c:
        pdf = await c.get(f"{a.staff}/proofs/{a.proof}/file")
        evil = await c.get(f"{a.staff}/proofs/{html.id}/file")
        polyglot = await c.get(f"{a.staff}/proofs/{poly.id}/file")
    assert pdf.status_code == 200 and pdf.content == b"%PDF-1.4 comprobante"
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="comprobante-{a.proof}.pdf"'
    assert pdf.headers["cache-control"] == "private, no-store"
    assert pdf.headers["x-content-type-options"] == "nosniff"
    assert evil.headers["content-type"] == "application/octet-stream"
    assert evil.headers["content-disposition"] == (
        f'attachment; filename="comprobante-{html.id}.bin"'
    )
    assert polyglot.headers["content-type"] == "application/pdf"
    assert polyglot.headers["content-disposition"] == (
        f'attachment; filename="comprobante-{poly.id}.pdf"'
    )


# --- chats, tickets, disputes, "No puedo pagar" ---------------------------------------------------


async def test_answering_a_chat(world: World) -> None:
    a = world.a
    url = f"{a.staff}/chats/{a.customer}"
    async with signed_in(world, a, "collector") as c:
        page = await c.get(url)
        assert "¿Me ayudan?" in page.text and 'hx-trigger="every 3s"' in page.text
        plain = await post(c, a, url, {"body": "Claro, <dime>."})
        assert plain.status_code == 303 and plain.headers["location"] == f"{url}#ultimo"
        htmx = await post(c, a, url, {"body": "¿Sigues ahí?"}, headers={"hx-request": "true"})
        assert htmx.status_code == 200
        assert htmx.text.lstrip().startswith('<div id="chat-panel">')
        assert "Claro, &lt;dime&gt;." in htmx.text and "¿Sigues ahí?" in htmx.text
        fragment = await c.get(f"{url}/messages", headers={"hx-request": "true"})
        assert "<html" not in fragment.text and "¿Sigues ahí?" in fragment.text
        newest = max(int(i) for i in re.findall(r"\?after=(\d+)", fragment.text))
        nothing_new = await c.get(f"{url}/messages?after={newest}")
        assert nothing_new.status_code == 204 and nothing_new.content == b""
        assert (await c.get(f"{url}/messages?after={newest - 1}")).status_code == 200
        inbox = await c.get(f"{a.staff}/")
    assert "No hay chats esperando respuesta." in inbox.text
    rows = await a.scope.objects(ChatMessage).order_by(ChatMessage.id)
    assert [(r.sender, r.body) for r in rows][1:] == [
        ("staff", "Claro, <dime>."),
        ("staff", "¿Sigues ahí?"),
    ]
    assert rows[1].staff is not None
    # the customer writes again: the conversation is back in the inbox
    await a.scope.add(ChatMessage(customer=a.customer, sender="customer", body="Gracias"))
    async with signed_in(world, a) as c:
        inbox = await c.get(f"{a.staff}/", headers={"hx-request": "true"})
    assert inbox.text.lstrip().startswith('<div id="inbox-panel"') and "Gracias" in inbox.text


async def test_closing_a_ticket(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as c:
        page = await c.get(f"{a.staff}/tickets/{a.ticket}")
        assert "Me llegó dos veces." in page.text
        response = await post(c, a, f"{a.staff}/tickets/{a.ticket}/close", {"note": "Anulada"})
        assert response.status_code == 303
        again = await post(c, a, f"{a.staff}/tickets/{a.ticket}/close")
        assert again.status_code == 303
    assert (await a.scope.get(Ticket, a.ticket)).status == "closed"
    assert await a.scope.count(AuditEvent).where(AuditEvent.action == "ticket.closed") == 1


async def test_rejecting_a_dispute_resumes_reminders(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as c:
        response = await post(
            c,
            a,
            f"{a.staff}/disputes/{a.dispute}/resolve",
            {"decision": "reject", "reason": "El monto es el pactado"},
        )
        assert response.status_code == 303
        conflict = await post(
            c, a, f"{a.staff}/disputes/{a.dispute}/resolve", {"decision": "accept"}
        )
        assert conflict.status_code == 409
    assert (await a.scope.get(Dispute, a.dispute)).status == "rejected"
    assert (await a.scope.get(Invoice, a.invoices[0])).disputed is False
    event = await a.scope.objects(AuditEvent).where(AuditEvent.action == "dispute.rejected").first()
    assert event is not None and "El monto es el pactado" in str(event.data)


async def test_accepting_a_dispute_keeps_the_invoice_out_of_reminders(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as c:
        response = await post(
            c, a, f"{a.staff}/disputes/{a.dispute}/resolve", {"decision": "accept"}
        )
    assert response.status_code == 303
    assert (await a.scope.get(Dispute, a.dispute)).status == "accepted"
    assert (await a.scope.get(Invoice, a.invoices[0])).disputed is True


async def test_approving_a_plan_marks_its_invoices(world: World) -> None:
    a = world.a
    await a.scope.update(HardshipRequest, {HardshipRequest.plan: a.plan}).where(
        HardshipRequest.id == a.hardship
    )
    async with signed_in(world, a) as c:
        page = await c.get(f"{a.staff}/plans/{a.plan}")
        assert page.status_code == 200
        response = await post(c, a, f"{a.staff}/plans/{a.plan}/review", {"decision": "approve"})
    assert response.status_code == 303
    assert (await a.scope.get(PaymentPlan, a.plan)).status == "active"
    assert (await a.scope.get(Invoice, a.invoices[1])).plan_id == a.plan
    assert (await a.scope.get(Invoice, a.invoices[0])).plan_id is None
    assert (await a.scope.get(HardshipRequest, a.hardship)).status == "approved"


async def test_declining_a_hardship_request_declines_its_plan(world: World) -> None:
    a = world.a
    await a.scope.update(HardshipRequest, {HardshipRequest.plan: a.plan}).where(
        HardshipRequest.id == a.hardship
    )
    async with signed_in(world, a) as c:
        page = await c.get(f"{a.staff}/hardship/{a.hardship}")
        assert "Estoy enfermo." in page.text
        response = await post(
            c,
            a,
            f"{a.staff}/hardship/{a.hardship}/review",
            {"decision": "decline", "note": "Pedir documentos"},
        )
        assert response.status_code == 303
        inbox = await c.get(f"{a.staff}/?tab=hardship")
    assert (await a.scope.get(HardshipRequest, a.hardship)).status == "declined"
    assert (await a.scope.get(PaymentPlan, a.plan)).status == "cancelled"
    assert "No hay solicitudes por revisar." in inbox.text
    assert "No hay planes por revisar." in inbox.text
