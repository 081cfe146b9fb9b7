"""Inbox services without HTTP: concurrent confirmations, the file headers, the English catalog."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from recaudo.core.access.staff import create_staff
from recaudo.core.billing.statement import customer_credit
from recaudo.core.casework import review as inbox
from recaudo.core.casework.claims import download_as
from recaudo.core.tables import AuditEvent, ChatMessage, Invoice, Payment, PaymentProof
from tests.test_staff_http import Side, seed

ROOT = Path(__file__).resolve().parent.parent


async def _side() -> Side:
    return await seed(f"gamma-{uuid.uuid4().hex[:6]}", "MX", "MXN")


async def test_concurrent_confirmations_record_one_payment(database: str) -> None:
    side = await _side()
    user = await create_staff(side.scope, "otra@example.com", "clave-larga-123", "collector")
    results = await asyncio.gather(
        *(inbox.confirm_proof(side.scope, user, side.proof) for _ in range(4))
    )
    assert {r.status for r in results} == {"confirmed"}
    assert await side.scope.count(Payment) == 1
    assert await side.balance(side.invoices[0]) == 0
    assert await side.scope.count(AuditEvent).where(AuditEvent.action == "proof.confirmed") == 1


async def test_an_overpaying_proof_leaves_credit(database: str) -> None:
    side = await _side()
    user = await create_staff(side.scope, "otra@example.com", "clave-larga-123", "owner")
    proof = await side.new_proof(120_000, [side.invoices[1]])
    await inbox.confirm_proof(side.scope, user, proof)
    # 50 000 pays the named invoice; the ledger keeps the other 70 000 as credit
    assert await side.balance(side.invoices[1]) == 0
    assert await side.balance(side.invoices[0]) == 100_000
    assert await customer_credit(side.scope, side.customer, side.currency) == 70_000


async def test_a_proof_in_another_currency_is_a_clear_error(database: str) -> None:
    side = await _side()
    user = await create_staff(side.scope, "otra@example.com", "clave-larga-123", "owner")
    bad = PaymentProof(
        customer=side.customer,
        invoice_ids=[side.invoices[0]],
        currency="USD",
        amount=1_000,
        filename="a.pdf",
        content_type="application/pdf",
        content=b"%PDF",
    )
    await side.scope.add(bad)
    with pytest.raises(inbox.InboxError):
        await inbox.confirm_proof(side.scope, user, int(bad.id))
    assert (await side.scope.get(PaymentProof, bad.id)).status == "pending"
    assert await side.scope.count(Payment) == 0


async def test_chat_threads_follow_the_last_sender(database: str) -> None:
    side = await _side()
    user = await create_staff(side.scope, "otra@example.com", "clave-larga-123", "owner")
    assert [t.customer_id for t in await inbox.chats_to_answer(side.scope)] == [side.customer]
    await inbox.answer_chat(side.scope, user, side.customer, "Hola")
    assert await inbox.chats_to_answer(side.scope) == []
    await side.scope.add(ChatMessage(customer=side.customer, sender="customer", body="Gracias"))
    threads = await inbox.chats_to_answer(side.scope)
    assert [(t.customer_id, t.last_body) for t in threads] == [(side.customer, "Gracias")]
    counts = await inbox.counts(side.scope)
    assert (counts.chats, counts.proofs, counts.tickets, counts.disputes) == (1, 1, 1, 1)
    assert counts.hardship == 2 and counts.total == 6


async def test_rejecting_one_of_two_disputes_keeps_the_invoice_disputed(database: str) -> None:
    from recaudo.core.tables import Dispute

    side = await _side()
    user = await create_staff(side.scope, "otra@example.com", "clave-larga-123", "owner")
    second = Dispute(invoice=side.invoices[0], customer=side.customer, reason="other")
    await side.scope.add(second)
    await inbox.resolve_dispute(side.scope, user, side.dispute, "reject", "No procede")
    assert (await side.scope.get(Invoice, side.invoices[0])).disputed is True
    decided = await side.scope.get(Dispute, side.dispute)
    assert (decided.decision_note, decided.decided_by) == ("No procede", user.id)
    assert decided.decided_at is not None
    await inbox.resolve_dispute(side.scope, user, int(second.id), "reject", "Tampoco")
    assert (await side.scope.get(Invoice, side.invoices[0])).disputed is False


def test_proofs_are_typed_and_named_by_their_own_bytes() -> None:
    """Never by what the customer called the file or what their browser declared."""
    assert download_as(7, b"%PDF-1.4 <html><script>") == ("application/pdf", "comprobante-7.pdf")
    assert download_as(8, b"\x89PNG\r\n\x1a\nMZ") == ("image/png", "comprobante-8.png")
    assert download_as(9, b"\xff\xd8\xff\xe0") == ("image/jpeg", "comprobante-9.jpg")
    assert download_as(3, b"<script>alert(1)</script>") == (
        "application/octet-stream",
        "comprobante-3.bin",
    )


def test_every_staff_text_has_an_english_translation() -> None:
    # Every catalog of the folder is merged at start-up (areas keep their own file, e.g. money.po).
    translated: set[str] = set()
    for po in sorted((ROOT / "core/messaging/locale/en/LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            translated |= {m.id for m in read_po(fh, locale="en") if m.id and m.string}
    wanted: set[str] = set()
    for template in (ROOT / "web/templates/staff").glob("*.html"):
        wanted |= set(re.findall(r'_\("([^"]+)"\)', template.read_text()))
        wanted |= set(re.findall(r"_\('([^']+)'\)", template.read_text()))
    modules = [*(ROOT / "core/casework/review").glob("*.py")]
    modules += [ROOT / "web/backoffice/auth.py", ROOT / "web/backoffice/common.py"]
    for module in modules:
        source = module.read_text()
        wanted |= set(re.findall(r'(?:Error|NotFound|Conflict)\("([^"]+)"\)', source))
        wanted |= set(re.findall(r'^[A-Z_]+ = "([^"]+)"', source, flags=re.M))
        wanted |= set(re.findall(r'^    "(Tu rol[^"]+)"', source, flags=re.M))
        wanted |= set(re.findall(r'_get\([^)]*"([^"]+)"\)', source))
    wanted -= {"staff.login_failed", "staff.login", "banktransfer", "pending"}
    missing = sorted(w for w in wanted if w not in translated)
    assert not missing, f"add to your area's catalog (e.g. staff.po): {missing}"
