"""Staff decide "No puedo pagar" requests (granting a plan within the limits, or not), the
customer is told, and staff see every active plan and promise of their tenant."""

from __future__ import annotations

from datetime import timedelta

from recaudo.core.collections.promises import create_promise
from recaudo.core.messaging.i18n import formatter_for
from recaudo.core.tables import (
    AuditEvent,
    HardshipRequest,
    Invoice,
    NotificationLog,
    OutboxJob,
    PaymentPlan,
    PaymentPromise,
    PlanInstallment,
)
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import set_plugin
from recaudo.web.portal.common import tenant_today
from tests import test_staff_http
from tests.conftest import drain_jobs
from tests.portal_support import POLICY
from tests.test_staff_http import Side, World, post, signed_in

world = test_staff_http.world  # the two-tenant fixture of the staff HTTP tests


async def _tenant(side: Side) -> Tenant:
    return await Tenant.objects().where(Tenant.id == side.scope.tenant_id).first()


async def _with_policy(side: Side) -> Tenant:
    tenant = await _tenant(side)
    tenant.policy = POLICY
    await tenant.save().run()
    await set_plugin(side.scope, "email", enabled=True)
    return tenant


async def _sent(side: Side) -> list[NotificationLog]:
    return await side.scope.objects(NotificationLog).order_by(NotificationLog.id)


async def test_approving_a_request_grants_a_plan_and_tells_the_customer(world: World) -> None:
    a = world.a
    tenant = await _with_policy(a)
    async with signed_in(world, a) as c:
        page = await c.get(f"{a.staff}/hardship/{a.hardship}")
        assert "Aprobar y darle un plan de pagos" in page.text and 'name="enganche"' in page.text
        response = await post(
            c,
            a,
            f"{a.staff}/hardship/{a.hardship}/review",
            {
                "decision": "approve_plan",
                "cuotas": "2",
                "enganche": "50.00",
                "note": "Te ayudamos con esto",
            },
        )
        assert response.status_code == 303, response.text
        book = await c.get(f"{a.staff}/plans")
    request = await a.scope.get(HardshipRequest, a.hardship)
    assert request.status == "approved" and request.plan is not None
    plan = await a.scope.get(PaymentPlan, int(request.plan))
    # F-1 is disputed, so the plan covers F-2 only: 500.00 = 50.00 today + 2 installments.
    assert plan.status == "active" and int(plan.total) == 50_000
    rows = await a.scope.objects(PlanInstallment).where(PlanInstallment.plan == plan.id)
    assert sorted(int(r.number) for r in rows) == [0, 1, 2]
    assert (await a.scope.get(Invoice, a.invoices[1])).plan_id == int(plan.id)
    event = await a.scope.objects(AuditEvent).where(AuditEvent.action == "hardship.approved")
    assert len(event) == 1 and str(plan.id) in str(event[0].data)
    assert await a.scope.count(OutboxJob).where(OutboxJob.actor == "tell_customer") == 1
    await drain_jobs()
    (message,) = await _sent(a)
    assert message.subject.startswith("Tu plan de pagos está listo")
    assert "$500.00" in message.body_text and "enganche + 2 cuotas" in message.body_text
    assert "Te ayudamos con esto" in message.body_text and "$50.00" in message.body_text
    # The book lists it with the next installment (the down payment, due today).
    fmt = formatter_for("es", tenant.locale, tenant.timezone)
    assert book.status_code == 200 and f'data-plan="{plan.id}"' in book.text
    assert f"$50.00 · {fmt.date(tenant_today(tenant))}" in book.text and "Al corriente" in book.text
    async with signed_in(world, a, "viewer") as c:
        plan_page = await c.get(f"{a.staff}/plans/{plan.id}")
    assert plan_page.status_code == 200 and "Enganche" in plan_page.text


async def test_a_plan_beyond_the_limits_is_refused_and_nothing_changes(world: World) -> None:
    a = world.a
    await _with_policy(a)
    async with signed_in(world, a) as c:
        for fields, message in (
            ({"cuotas": "9", "enganche": "50"}, "número de pagos"),
            ({"cuotas": "2", "enganche": "1"}, "menor que el mínimo"),
            ({"cuotas": "2", "enganche": "1,5"}, "Escribe el monto así: 1,500.00"),
        ):
            response = await post(
                c,
                a,
                f"{a.staff}/hardship/{a.hardship}/review",
                {"decision": "approve_plan", **fields},
            )
            assert response.status_code == 400 and message in response.text, fields
    assert (await a.scope.get(HardshipRequest, a.hardship)).status == "open"
    assert await a.scope.count(PaymentPlan).where(PaymentPlan.status == "active") == 0
    assert await a.scope.count(OutboxJob).where(OutboxJob.actor == "tell_customer") == 0


async def test_approving_or_declining_without_a_plan_tells_the_customer(world: World) -> None:
    a = world.a
    await _with_policy(a)
    promise = HardshipRequest(customer=a.customer, reason="illness", outcome="review")
    await a.scope.add(promise)
    async with signed_in(world, a) as c:
        await post(
            c,
            a,
            f"{a.staff}/hardship/{a.hardship}/review",
            {"decision": "approve", "note": "Acordamos pagar el día 15"},
        )
        await post(
            c,
            a,
            f"{a.staff}/hardship/{promise.id}/review",
            {"decision": "decline", "note": "Necesitamos un comprobante de ingresos"},
        )
    await drain_jobs()
    approved, declined = await _sent(a)
    assert (
        "la aprobamos" in approved.body_text and "Acordamos pagar el día 15" in approved.body_text
    )
    assert "no podemos aceptarla" in declined.body_text
    assert "Necesitamos un comprobante de ingresos" in declined.body_text
    assert await a.scope.count(PaymentPlan).where(PaymentPlan.status == "active") == 0


async def test_the_book_shows_promises_and_late_plans_of_this_tenant_only(world: World) -> None:
    a, b = world.a, world.b
    today = tenant_today(await _tenant(a))
    missed = await create_promise(
        a.scope,
        a.customer,
        a.invoices[:1],
        today - timedelta(days=1),
        150_000,
        a.currency,
        source="staff",
        actor="staff:1",
        note="Me pagan el viernes",
    )
    await a.scope.update(PaymentPromise, {PaymentPromise.status: "broken"}).where(
        PaymentPromise.id == missed.id
    )
    other = await create_promise(
        b.scope, b.customer, b.invoices[:1], today, 100, b.currency, source="staff", actor="x"
    )
    async with signed_in(world, a, "viewer") as c:
        book = await c.get(f"{a.staff}/plans")
        inbox = await c.get(f"{a.staff}/?tab=hardship")
    assert book.status_code == 200
    assert f'data-promise="{missed.id}"' in book.text and "Incumplida" in book.text
    assert "Me pagan el viernes" in book.text and "$1,500.00" in book.text
    assert f'data-promise="{other.id}"' not in book.text
    assert f"{a.staff}/plans" in inbox.text


async def test_a_plan_approved_from_its_page_is_announced(world: World) -> None:
    a = world.a
    await set_plugin(a.scope, "email", enabled=True)
    async with signed_in(world, a) as c:
        response = await post(c, a, f"{a.staff}/plans/{a.plan}/review", {"decision": "approve"})
        assert response.status_code == 303
    await drain_jobs()
    (message,) = await _sent(a)
    assert message.subject.startswith("Tu plan de pagos está listo")
    assert "$500.00" in message.body_text and "3 cuotas" in message.body_text
    assert "Tu primer pago" not in message.body_text  # this plan has no dated installments
