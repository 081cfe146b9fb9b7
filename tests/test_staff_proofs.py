"""Staff look at a proof of payment on its page (inline, served safely) and can correct the
amount before confirming: the payment is recorded for what arrived, and the audit keeps both."""

from __future__ import annotations

from recaudo.core.tables import AuditEvent, NotificationLog, Payment, PaymentProof
from recaudo.tenants.plugin_config import set_plugin
from tests import test_staff_http
from tests.conftest import drain_jobs
from tests.test_staff_http import World, post, signed_in

world = test_staff_http.world  # the two-tenant fixture of the staff HTTP tests
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


async def test_a_pdf_proof_is_previewed_inline_and_framable_only_here(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "viewer") as c:
        page = await c.get(f"{a.staff}/proofs/{a.proof}")
        preview = await c.get(f"{a.staff}/proofs/{a.proof}/preview")
    assert f'<iframe class="proof-preview" src="{a.staff}/proofs/{a.proof}/preview"' in page.text
    # The page's own CSP allows a same-origin frame (default-src 'self') and no plugins.
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert preview.status_code == 200 and preview.content == b"%PDF-1.4 comprobante"
    assert preview.headers["content-type"] == "application/pdf"
    assert preview.headers["content-disposition"] == f'inline; filename="comprobante-{a.proof}.pdf"'
    assert preview.headers["x-content-type-options"] == "nosniff"
    assert preview.headers["x-frame-options"] == "SAMEORIGIN"
    csp = preview.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in csp and "default-src 'none'" in csp
    assert "script-src" not in csp  # nothing may run
    assert preview.headers["cache-control"] == "private, no-store"


async def test_an_image_is_an_img_and_a_disguised_file_is_not_previewed(world: World) -> None:
    a = world.a
    image = PaymentProof(
        customer=a.customer,
        invoice_ids=[],
        currency=a.currency,
        amount=1_000,
        filename="foto.png",
        content_type="image/png",
        content=PNG,
    )
    fake = PaymentProof(
        customer=a.customer,
        invoice_ids=[],
        currency=a.currency,
        amount=1_000,
        filename="x.pdf",
        content_type="application/pdf",
        content=b"<html><script>alert(1)</script>",
    )
    await a.scope.add(image)
    await a.scope.add(fake)
    async with signed_in(world, a) as c:
        image_page = await c.get(f"{a.staff}/proofs/{image.id}")
        image_file = await c.get(f"{a.staff}/proofs/{image.id}/preview")
        fake_page = await c.get(f"{a.staff}/proofs/{fake.id}")
        fake_file = await c.get(f"{a.staff}/proofs/{fake.id}/preview")
        other = await c.get(f"{a.staff}/proofs/{world.b.proof}/preview")
    assert (
        f'<img class="proof-preview" src="{a.staff}/proofs/{image.id}/preview"' in image_page.text
    )
    assert image_file.status_code == 200 and image_file.headers["content-type"] == "image/png"
    assert "no se puede ver aquí" in fake_page.text and "<iframe" not in fake_page.text
    assert fake_file.status_code == 404 and b"<script>" not in fake_file.content
    assert other.status_code == 404


async def test_staff_correct_the_amount_before_confirming(world: World) -> None:
    a = world.a
    await set_plugin(a.scope, "email", enabled=True)
    async with signed_in(world, a, "collector") as c:
        page = await c.get(f"{a.staff}/proofs/{a.proof}")
        assert 'name="monto"' in page.text and 'value="1000.00"' in page.text
        bad = await post(c, a, f"{a.staff}/proofs/{a.proof}/confirm", {"monto": "1,5"})
        assert bad.status_code == 400 and "Escribe el monto así: 1,500.00" in bad.text
        zero = await post(c, a, f"{a.staff}/proofs/{a.proof}/confirm", {"monto": "0"})
        assert zero.status_code == 400 and "mayor que cero" in zero.text
        assert await a.scope.count(Payment) == 0
        done = await post(c, a, f"{a.staff}/proofs/{a.proof}/confirm", {"monto": "800.00"})
        assert done.status_code == 303
        after = await c.get(f"{a.staff}/proofs/{a.proof}")
    (payment,) = await a.scope.objects(Payment)
    assert int(payment.amount) == 80_000
    assert await a.balance(a.invoices[0]) == 20_000
    proof = await a.scope.get(PaymentProof, a.proof)
    assert int(proof.amount) == 100_000  # what the customer declared stays on the proof
    assert 'id="corrected"' in after.text and "$800.00" in after.text
    (event,) = await a.scope.objects(AuditEvent).where(AuditEvent.action == "proof.confirmed")
    data = str(event.data)
    assert "80000" in data and "100000" in data and "corrected" in data
    await drain_jobs()
    (message,) = await a.scope.objects(NotificationLog)
    assert "$800.00" in message.body_text and "$1,000.00" not in message.body_text
