"""The staff review queue: what a tenant's back office must answer or decide, and the decisions.

One module per workflow (chats, tickets, disputes, proofs, hardship); this package re-exports
them so callers write ``review.confirm_proof(...)``.

Every function takes the tenant's :class:`TenantScope`, so an id from another tenant is simply
"not found"; every decision is written to the audit trail with the acting staff user. Messages
of the exceptions are Spanish source strings (the web layer translates them) and never carry
data, so they can be shown as they are.

Decisions the issue left open, taken here:

* **Disputes.** *Rejecting* clears ``Invoice.disputed`` (unless another dispute of the invoice is
  still open), so reminders resume. *Accepting* keeps the invoice out of reminders: the customer
  is right, and the correction (void, credit note) is an invoice operation of the back office.
* **Proofs.** Confirming records an approved ``banktransfer`` payment with reference
  ``proof:<id>`` through the ledger (idempotent on that reference) inside one transaction that
  locks the proof, so a double click applies the money once. The ledger applies it to the invoices
  the proof names and keeps any excess as credit; named invoices that are no longer payable (paid
  meanwhile) are left out, and when none is left the money goes oldest-first.
* **"No puedo pagar".** Requests waiting for staff are the open ones with outcome ``review``;
  plans waiting are those with status ``review``. A decision on a request applies to the plan it
  carries, and a decision on a plan to the open requests that carry it. Approving a request
  either grants a plan (``approve_plan``: created within the tenant's limits, exactly as if the
  customer had accepted it, and linked to the request) or records the agreement alone
  (``approve``). Every decision tells the customer, with the staff member's note as the message.
"""

from __future__ import annotations

from recaudo.core.casework.review.chats import (
    ChatThread,
    answer_chat,
    chat_customer,
    chat_messages,
    chats_to_answer,
)
from recaudo.core.casework.review.common import (
    MAX_AMOUNT,
    MAX_CHAT,
    MAX_REASON,
    PAYABLE,
    PROOF_METHOD,
    Conflict,
    InboxError,
    NotFound,
    actor,
)
from recaudo.core.casework.review.counts import (
    Counts,
    counts,
)
from recaudo.core.casework.review.disputes import (
    DISPUTE_DECISIONS,
    dispute,
    open_disputes,
    resolve_dispute,
)
from recaudo.core.casework.review.hardship import (
    REVIEW_DECISIONS,
    PlanTerms,
    hardship,
    hardship_to_review,
    plan,
    plans_to_review,
    review_hardship,
    review_plan,
)
from recaudo.core.casework.review.proofs import (
    confirm_proof,
    pending_proofs,
    proof,
    proof_invoices,
    reject_proof,
)
from recaudo.core.casework.review.tickets import (
    close_ticket,
    open_tickets,
    reply_address,
    reply_ticket,
    ticket,
    ticket_replies,
)

__all__ = [
    "DISPUTE_DECISIONS",
    "MAX_AMOUNT",
    "MAX_CHAT",
    "MAX_REASON",
    "PAYABLE",
    "PROOF_METHOD",
    "REVIEW_DECISIONS",
    "ChatThread",
    "Conflict",
    "Counts",
    "InboxError",
    "NotFound",
    "PlanTerms",
    "actor",
    "answer_chat",
    "chat_customer",
    "chat_messages",
    "chats_to_answer",
    "close_ticket",
    "confirm_proof",
    "counts",
    "dispute",
    "hardship",
    "hardship_to_review",
    "open_disputes",
    "open_tickets",
    "pending_proofs",
    "plan",
    "plans_to_review",
    "proof",
    "proof_invoices",
    "reject_proof",
    "reply_address",
    "reply_ticket",
    "resolve_dispute",
    "review_hardship",
    "review_plan",
    "ticket",
    "ticket_replies",
]
