"""What happened to a message after a channel accepted it: providers' delivery-status callbacks.

A WhatsApp or SMS provider accepts a message (``DeliveryResult.provider_id``) and tells us later,
through a signed callback, whether it reached the phone. :func:`record_delivery` writes that onto
the :class:`NotificationLog` row and, for a collection contact, onto its
:class:`ContactAttempt`; when the provider gave up on a contact it queues the outbox job
``contact_failed`` (the dunning engine's, which falls back to the customer's next authorised
channel when the stage allows) in the same transaction.

Providers repeat callbacks and send them out of order (``delivered`` may arrive after ``read``),
so a status only ever moves forward and a repeat changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from recaudo.core import db
from recaudo.core.common import outbox
from recaudo.core.tables import ContactAttempt, NotificationLog
from recaudo.tenants.scoped import TenantScope

#: The job the dunning engine runs when a contact failed for good at its channel.
CONTACT_FAILED = "contact_failed"

#: Provider statuses by how far a message got; a lower rank never replaces a higher one.
#: ``failed`` and ``delivered`` are both final: whichever the provider said first stands,
#: except that ``read`` (the phone showed it) beats both.
RANKS = {"": 0, "queued": 0, "accepted": 0, "sending": 0, "sent": 1, "delivered": 2, "failed": 2}
RANKS["read"] = 3

#: What each status becomes on the log (``delivery_status``) and on the contact (``status``).
LOG_STATUS = {"delivered": "delivered", "read": "read", "failed": "failed"}
CONTACT_STATUS = {"delivered": "delivered", "read": "delivered", "failed": "failed"}
#: Contact statuses a callback may move on from (a contact that is already final stays).
CONTACT_OPEN = ("sending", "sent")


@dataclass(frozen=True)
class DeliveryUpdate:
    """What :func:`record_delivery` did: ``found`` a log for the provider's id, ``changed`` it,
    and whether it queued ``contact_failed`` for the log's contact."""

    found: bool
    changed: bool = False
    contact_id: int | None = None
    fallback_queued: bool = False


def _rank(status: str) -> int:
    return RANKS.get(status, 0)


async def record_delivery(
    scope: TenantScope,
    channel: str,
    provider_id: str,
    status: str,
    error: str = "",
    permanent: bool = True,
) -> DeliveryUpdate:
    """Record a provider's delivery ``status`` (``sent``, ``delivered``, ``read``, ``failed``)
    for the message it knows as ``provider_id`` on ``channel``.

    ``permanent`` says whether a failure is the recipient's for good (bad number, opted out) or
    may pass (a carrier outage); either way the provider will not try that message again, so a
    failed contact is handed to ``contact_failed`` (its payload says which it was) rather than
    left to be forgotten. Unknown ids change nothing: the callback may be for a message another
    installation sent with the same account. Safe to call again with the same values.
    """
    status = status.strip().lower()
    if not provider_id or status not in RANKS:
        return DeliveryUpdate(found=False)
    async with db.transaction():
        entry = (
            await scope.objects(NotificationLog)
            .where(
                (NotificationLog.channel == channel) & (NotificationLog.provider_id == provider_id)
            )
            .order_by(NotificationLog.id)
            .first()
        )
        if entry is None:
            return DeliveryUpdate(found=False)
        contact_id = int(entry.contact) if entry.contact is not None else None
        new = LOG_STATUS.get(status, "")
        current = str(entry.delivery_status or "")
        if not new or _rank(status) <= _rank(current):
            return DeliveryUpdate(found=True, contact_id=contact_id)
        changes: dict[object, object] = {NotificationLog.delivery_status: new}
        if status == "failed":
            changes[NotificationLog.error] = error[:500]
        await scope.update(NotificationLog, changes).where(NotificationLog.id == entry.id)
        queued = False
        if contact_id is not None:
            queued = await _update_contact(scope, contact_id, status, error, permanent)
        return DeliveryUpdate(
            found=True, changed=True, contact_id=contact_id, fallback_queued=queued
        )


async def _update_contact(
    scope: TenantScope, contact_id: int, status: str, error: str, permanent: bool
) -> bool:
    """Move the contact to delivered/failed; ``True`` when ``contact_failed`` was queued."""
    new = CONTACT_STATUS[status]
    values: dict[object, object] = {
        ContactAttempt.status: new,
        ContactAttempt.updated_at: datetime.now(UTC),
    }
    if new == "failed":
        values[ContactAttempt.error] = error[:500]
    moved = (
        await scope.update(ContactAttempt, values)
        .where((ContactAttempt.id == contact_id) & ContactAttempt.status.is_in(list(CONTACT_OPEN)))
        .returning(ContactAttempt.id)
    )
    if new == "delivered" and not moved:
        # A contact marked failed by an earlier callback that the phone did show after all.
        moved = (
            await scope.update(ContactAttempt, values)
            .where((ContactAttempt.id == contact_id) & (ContactAttempt.status == "failed"))
            .returning(ContactAttempt.id)
        )
    if not moved or new != "failed":
        return False
    return await outbox.enqueue(
        scope,
        CONTACT_FAILED,
        {"contact_id": contact_id, "permanent": permanent, "error": error[:500]},
        key=f"{CONTACT_FAILED}:{contact_id}",
    )
