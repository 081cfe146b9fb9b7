"""How much waits for staff, per kind, for the back office header."""

from __future__ import annotations

from dataclasses import dataclass

from recaudo.core.casework.review.chats import chats_to_answer
from recaudo.core.tables import (
    Dispute,
    HardshipRequest,
    PaymentPlan,
    PaymentProof,
    Ticket,
)
from recaudo.tenants.scoped import TenantScope


@dataclass(frozen=True)
class Counts:
    chats: int
    tickets: int
    disputes: int
    proofs: int
    hardship: int

    @property
    def total(self) -> int:
        return self.chats + self.tickets + self.disputes + self.proofs + self.hardship


async def counts(scope: TenantScope) -> Counts:
    hardship = await scope.count(HardshipRequest).where(
        (HardshipRequest.status == "open") & (HardshipRequest.outcome == "review")
    )
    plans = await scope.count(PaymentPlan).where(PaymentPlan.status == "review")
    return Counts(
        chats=len(await chats_to_answer(scope)),
        tickets=await scope.count(Ticket).where(Ticket.status == "open"),
        disputes=await scope.count(Dispute).where(Dispute.status == "open"),
        proofs=await scope.count(PaymentProof).where(PaymentProof.status == "pending"),
        hardship=hardship + plans,
    )
