"""How much waits for staff, per kind, for the back office header."""

from __future__ import annotations

from dataclasses import dataclass

from recaudo.core.casework.review.chats import chats_to_answer
from recaudo.core.reconciliation.review import count_lines
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
    bank_lines: int = 0  # bank statement lines the matching engine left for a person

    @property
    def total(self) -> int:
        people = self.chats + self.tickets + self.disputes + self.proofs + self.hardship
        return people + self.bank_lines


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
        bank_lines=await count_lines(scope, "review"),
    )
