"""Tenant-owned tables of the domain.

Every table mixes in :class:`~recaudo.tenants.models.TenantOwned`, so each row carries its tenant.
Money columns are ``BigInt`` minor units next to an ISO 4217 ``currency`` column. Uniqueness that
protects money (idempotency keys, provider payment ids, provider events, outbox keys) is enforced by
the database, not only by application checks.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Bytea,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from recaudo.tenants.models import TenantOwned

INVOICE_STATUSES = ("open", "partially_paid", "paid", "written_off", "void")
STAFF_ROLES = ("owner", "collector", "viewer")


# Uniqueness that protects money and identity, created as unique indexes (portable to SQLite,
# which cannot add constraints to an existing table). Migrations spell the same statements out.
UNIQUE_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("staff_user", ("tenant", "email")),
    ("customer", ("tenant", "number")),
    ("invoice", ("tenant", "number")),
    ("payment", ("tenant", "idempotency_key")),
    ("payment", ("method", "provider_payment_id")),
    ("provider_event", ("tenant", "plugin", "event_key")),
    ("outbox_job", ("tenant", "key")),
    ("plan_installment", ("plan", "number")),
    ("plugin_setting", ("tenant", "plugin")),
    ("contact_attempt", ("tenant", "key")),
    ("promise_invoice", ("promise", "invoice")),
    ("dunning_mark", ("invoice", "stage")),
    ("dunning_policy", ("tenant", "segment")),
    ("invoice_charge", ("invoice", "kind", "period")),
    ("bank_statement", ("tenant", "file_sha256")),
    ("bank_line", ("tenant", "key")),
    ("bank_line", ("payment",)),
    ("bank_csv_profile", ("tenant", "name")),
)


# --- people -------------------------------------------------------------------------------------


class StaffUser(TenantOwned, Table, tablename="staff_user"):
    """Someone who works a tenant's back office. Passwords are argon2 hashes."""

    email = Varchar(length=254)
    name = Varchar(length=200, default="")
    password_hash = Varchar(length=200)
    role = Varchar(length=20, default="viewer")
    active = Boolean(default=True)
    created_at = Timestamptz()


class Customer(TenantOwned, Table, tablename="customer"):
    """A tenant's debtor. Has no password: the portal is reached through one-time links."""

    number = Varchar(length=64)
    name = Varchar(length=200)
    tax_id = Varchar(length=32, default="")
    tax_country = Varchar(length=2, default="")
    email = Varchar(length=254, default="", index=True)
    phone = Varchar(length=32, default="", index=True)
    preferred_channel = Varchar(length=20, default="email")
    locale = Varchar(length=10, default="")
    # Reminder consents: {"channels": [...], "quiet_hours": [start, end], "updated_at": iso}
    consents = JSON(default="{}")
    payment_reference = Varchar(length=40, default="")
    created_at = Timestamptz()
    # Migration 0015 (records): one short label, and tags lowercased between commas
    # (``,vip,pago tardío,``) so a tag filter is a portable ``LIKE '%,vip,%'``.
    segment = Varchar(length=40, default="", index=True)
    timezone = Varchar(length=64, default="")  # IANA name; "" means the tenant's
    tags = Varchar(length=500, default="")
    # Migration 0027 (e-invoicing): the fiscal identity the tenant's backend documents it with
    fiscal_name = Varchar(length=300, default="")
    fiscal_regime = Varchar(length=10, default="")
    fiscal_postal_code = Varchar(length=10, default="")
    fiscal_use = Varchar(length=10, default="")
    # The collector who works this account (a StaffUser id of this tenant), null when unassigned.
    collector_id = BigInt(null=True, default=None, index=True)
    # Credit granted by staff (audited in CreditDecision): a limit in the tenant's currency's
    # minor units and payment terms in days; null until someone decides.
    credit_limit = BigInt(null=True, default=None)
    credit_terms_days = Integer(null=True, default=None)


# --- invoices -----------------------------------------------------------------------------------


class Invoice(TenantOwned, Table, tablename="invoice"):
    """An amount a customer owes. ``amount_applied`` is maintained with the allocations."""

    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    number = Varchar(length=64)
    issue_date = Date()
    due_date = Date(index=True)
    currency = Varchar(length=3)
    subtotal = BigInt(default=0)
    tax = BigInt(default=0)
    total = BigInt(default=0)
    amount_applied = BigInt(default=0)
    status = Varchar(length=20, default="open", index=True)
    description = Varchar(length=500, default="")
    external_id = Varchar(length=100, null=True, default=None)
    disputed = Boolean(default=False)
    plan_id = BigInt(null=True, default=None)  # set while a payment plan covers the invoice
    einvoice_backend = Varchar(length=50, default="")
    einvoice_uuid = Varchar(length=64, default="")
    einvoice_status = Varchar(length=20, default="")
    einvoice_xml = Text(default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()

    @property
    def balance(self) -> int:
        return int(self.total) - int(self.amount_applied)


class InvoiceLine(TenantOwned, Table, tablename="invoice_line"):
    invoice = ForeignKey(Invoice, on_delete=OnDelete.cascade, index=True)
    position = Integer(default=0)
    description = Varchar(length=500)
    quantity = Integer(default=1)
    unit_amount = BigInt()
    amount = BigInt()


# --- payments -----------------------------------------------------------------------------------


class Payment(TenantOwned, Table, tablename="payment"):
    """Money a customer sends (or tries to) through one payment-method plugin."""

    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    method = Varchar(length=50)
    status = Varchar(length=20, default="pending", index=True)
    currency = Varchar(length=3)
    amount = BigInt()
    amount_refunded = BigInt(default=0)
    idempotency_key = Varchar(length=100)
    provider_payment_id = Varchar(length=100, null=True, default=None)
    provider_status = Varchar(length=50, default="")
    provider_status_detail = Varchar(length=100, default="")
    # Invoice ids the customer chose, in order; empty means oldest due first.
    requested_invoices = JSON(default="[]")
    # What those invoices owed when chosen: money up to this is for them only (never spills over).
    requested_total = BigInt(default=0)
    checkout = JSON(default="{}")
    # A pending checkout stops being live then (``core/payments/expiry.py``); NULL on old rows.
    expires_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PaymentTransition(TenantOwned, Table, tablename="payment_transition"):
    """One status change of a payment and where it came from (webhook, poll, staff, bank)."""

    payment = ForeignKey(Payment, on_delete=OnDelete.cascade, index=True)
    from_status = Varchar(length=20)
    to_status = Varchar(length=20)
    source = Varchar(length=30)
    detail = Varchar(length=500, default="")
    created_at = Timestamptz()


class Allocation(TenantOwned, Table, tablename="allocation"):
    """Part of a payment applied to an invoice; ``reversed_amount`` records refunds/chargebacks."""

    payment = ForeignKey(Payment, on_delete=OnDelete.restrict, index=True)
    invoice = ForeignKey(Invoice, on_delete=OnDelete.restrict, index=True)
    amount = BigInt()
    reversed_amount = BigInt(default=0)
    created_at = Timestamptz()


class CreditEntry(TenantOwned, Table, tablename="credit_entry"):
    """Customer credit ledger: overpayments add, applications and refunds subtract."""

    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    currency = Varchar(length=3)
    amount = BigInt()
    payment = ForeignKey(Payment, on_delete=OnDelete.restrict, null=True, default=None, index=True)
    invoice = ForeignKey(Invoice, on_delete=OnDelete.restrict, null=True, default=None)
    reason = Varchar(length=50)
    created_at = Timestamptz()


class ProviderEvent(TenantOwned, Table, tablename="provider_event"):
    """Webhook inbox: the raw, verified notification, stored before anything acts on it."""

    plugin = Varchar(length=50)
    event_key = Varchar(length=200)
    payload = Text()
    status = Varchar(length=20, default="received")
    error = Text(default="")
    received_at = Timestamptz()
    processed_at = Timestamptz(null=True, default=None)


# --- plans and promises -------------------------------------------------------------------------


class PaymentPlan(TenantOwned, Table, tablename="payment_plan"):
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    status = Varchar(length=20, default="active")  # active, completed, cancelled, review
    currency = Varchar(length=3)
    total = BigInt()
    down_payment = BigInt(default=0)
    installments_count = Integer()
    invoice_ids = JSON(default="[]")
    reason = Varchar(length=30, default="")
    created_at = Timestamptz()


class PlanInstallment(TenantOwned, Table, tablename="plan_installment"):
    plan = ForeignKey(PaymentPlan, on_delete=OnDelete.cascade, index=True)
    number = Integer()
    due_date = Date()
    amount = BigInt()
    amount_paid = BigInt(default=0)
    status = Varchar(length=20, default="open")


class HardshipRequest(TenantOwned, Table, tablename="hardship_request"):
    """A "No puedo pagar" answer: why, and what the customer chose (plan, promise, review)."""

    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    reason = Varchar(length=30)
    message = Text(default="")
    outcome = Varchar(length=20, default="review")  # plan, promise, review
    promise_date = Date(null=True, default=None)
    plan = ForeignKey(PaymentPlan, null=True, default=None)
    status = Varchar(length=20, default="open")
    decision_note = Varchar(length=500, default="")
    decided_by = ForeignKey(StaffUser, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


# --- portal access and help ---------------------------------------------------------------------


class MagicLink(TenantOwned, Table, tablename="magic_link"):
    """A one-time portal login link; only the SHA-256 of the token is stored."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    target = Varchar(length=300, default="")
    created_at = Timestamptz()


class PortalSession(TenantOwned, Table, tablename="portal_session"):
    """A server-side session (customer or staff); the cookie holds only a random id."""

    session_hash = Varchar(length=64, unique=True)
    kind = Varchar(length=10)  # customer, staff
    subject_id = BigInt()
    csrf_token = Varchar(length=64)
    expires_at = Timestamptz()
    created_at = Timestamptz()


class Dispute(TenantOwned, Table, tablename="dispute"):
    invoice = ForeignKey(Invoice, on_delete=OnDelete.cascade, index=True)
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade)
    reason = Varchar(length=50)
    message = Text(default="")
    status = Varchar(length=20, default="open")
    decision_note = Varchar(length=500, default="")
    decided_by = ForeignKey(StaffUser, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class PaymentProof(TenantOwned, Table, tablename="payment_proof"):
    """A receipt a customer uploads for a transfer made outside the portal; staff decide."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    invoice_ids = JSON(default="[]")
    currency = Varchar(length=3)
    amount = BigInt()
    filename = Varchar(length=200)
    content_type = Varchar(length=100)
    content = Bytea()
    status = Varchar(length=20, default="pending")
    decision_reason = Varchar(length=500, default="")
    decided_by = ForeignKey(StaffUser, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    payment = ForeignKey(Payment, null=True, default=None)
    created_at = Timestamptz()


class FaqEntry(TenantOwned, Table, tablename="faq_entry"):
    locale = Varchar(length=10, default="es")
    question = Varchar(length=300)
    answer = Text()
    position = Integer(default=0)


class Ticket(TenantOwned, Table, tablename="ticket"):
    customer = ForeignKey(Customer, null=True, default=None)
    name = Varchar(length=200, default="")
    contact = Varchar(length=254, default="")
    subject = Varchar(length=200)
    message = Text()
    status = Varchar(length=20, default="open")
    decision_note = Varchar(length=500, default="")
    decided_by = ForeignKey(StaffUser, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class TicketReply(TenantOwned, Table, tablename="ticket_reply"):
    """A staff answer to a contact-form ticket, sent by e-mail through the tenant's channel."""

    ticket = ForeignKey(Ticket, on_delete=OnDelete.cascade, index=True, null=False)
    staff = ForeignKey(StaffUser, null=True, default=None)
    body = Text()
    recipient = Varchar(length=254, default="")
    status = Varchar(length=20, default="queued")  # queued, sent, failed, no_channel
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)


class ChatMessage(TenantOwned, Table, tablename="chat_message"):
    """Live chat lives in the database so every web process sees every message."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    sender = Varchar(length=10)  # customer, staff
    staff = ForeignKey(StaffUser, null=True, default=None)
    body = Text()
    created_at = Timestamptz()


# --- operations ---------------------------------------------------------------------------------


class AuditEvent(TenantOwned, Table, tablename="audit_event"):
    actor = Varchar(length=100)
    action = Varchar(length=100)
    subject = Varchar(length=100, default="")
    data = JSON(default="{}")
    created_at = Timestamptz()


class OutboxJob(TenantOwned, Table, tablename="outbox_job"):
    """A job committed in the same transaction as the state change that caused it.

    The relay hands pending jobs to the broker and re-sends those not finished in time, so a
    crash or a lost broker message delays work but never loses it. ``key`` makes enqueueing
    idempotent.
    """

    key = Varchar(length=200)
    actor = Varchar(length=100)
    payload = JSON(default="{}")
    status = Varchar(length=20, default="pending", index=True)  # pending, sent, done, failed
    attempts = Integer(default=0)
    available_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    done_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    created_at = Timestamptz()


class NotificationLog(TenantOwned, Table, tablename="notification_log"):
    """What a notification channel sent (kept for staff and for the development outbox)."""

    channel = Varchar(length=30)
    recipient = Varchar(length=254)
    subject = Varchar(length=300, default="")
    body_text = Text(default="")
    body_html = Text(default="")
    status = Varchar(length=20, default="sent")  # sent | failed | waiting (for a channel)
    # A waiting message's full text, encrypted (it may carry a one-time link); emptied once sent.
    sealed = Text(default="")
    claimed_at = Timestamptz(null=True, default=None)  # a relay took the waiting message to send
    created_at = Timestamptz()
    # Following a message after the channel accepted it (issue #11): the provider's id for its
    # delivery-status callbacks, what the message was, the contact it belongs to (reminders).
    provider_id = Varchar(length=120, default="", index=True)
    kind = Varchar(length=30, default="")
    contact = BigInt(null=True, default=None, index=True)
    delivery_status = Varchar(length=20, default="")  # "", delivered, read, failed
    error = Varchar(length=500, default="")


# --- read models --------------------------------------------------------------------------------


class AccountChange(TenantOwned, Table, tablename="account_change"):
    """A row per write to what a customer's statement shows, added by database triggers.

    Triggers on ``invoice``, ``payment``, ``credit_entry``, ``payment_plan`` and
    ``plan_installment`` (migration 0006) insert one in the same transaction as the write, so no
    code path — another process, a job, a data fix in SQL — changes a statement without it.
    The sum of ``weight`` is the customer's *account stamp*
    (:func:`recaudo.core.billing.account.account_stamp`): it grows with every committed change and
    never repeats, whatever order transactions commit in, and rendered statements are cached under
    it. Insert-only, so writers never wait on each other; compaction folds old rows into one whose
    weight is their sum (:func:`recaudo.workers.scheduler.compact_account_changes`).
    """

    # Not a foreign key on purpose: its check would take a share lock on the customer row, which
    # the ledger locks FOR UPDATE — two payments of one customer would deadlock.
    customer = BigInt()
    weight = BigInt(default=1)


# --- money (issue #10): write-offs, recurring invoices, invoice attachments ---------------------


class WriteOff(TenantOwned, Table, tablename="write_off"):
    """Part of an invoice's balance closed as uncollectable (``core/payments/manual.write_off``).

    The ledger counts it in ``Invoice.amount_applied`` (so every ``total - amount_applied`` stays
    the balance) and ``status_for`` tells a written-off invoice from a paid one by these rows.
    """

    invoice = ForeignKey(Invoice, on_delete=OnDelete.restrict, index=True, null=False)
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True, null=False)
    currency = Varchar(length=3)
    amount = BigInt()
    reason = Varchar(length=500)
    actor = Varchar(length=100, default="")
    created_at = Timestamptz()


class RecurringInvoice(TenantOwned, Table, tablename="recurring_invoice"):
    """A "mensualidad": an invoice issued every month (day of month, clamped to the month's end)
    or every week from ``next_issue_date`` until paused, ended or past ``end_date``."""

    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True, null=False)
    description = Varchar(length=500)
    currency = Varchar(length=3)
    amount = BigInt()  # subtotal per period, minor units
    tax = BigInt(default=0)
    interval = Varchar(length=10, default="monthly")  # monthly, weekly
    day_of_month = Integer(default=1)  # monthly: 1..31, clamped to the month's last day
    next_issue_date = Date(index=True)
    payment_terms_days = Integer(default=0)
    number_prefix = Varchar(length=40, default="")
    status = Varchar(length=20, default="active", index=True)  # active, paused, ended
    end_date = Date(null=True, default=None)
    last_issued_at = Timestamptz(null=True, default=None)
    issued_count = Integer(default=0)
    last_error = Varchar(length=500, default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class RecurringIssue(TenantOwned, Table, tablename="recurring_issue"):
    """One issued period of a recurring invoice; ``key`` (``<recurring id>:<period date>``) is
    unique, so two schedulers never issue the same period twice."""

    recurring = ForeignKey(RecurringInvoice, on_delete=OnDelete.cascade, index=True, null=False)
    key = Varchar(length=60, unique=True)
    period = Date()
    invoice = ForeignKey(Invoice, on_delete=OnDelete.restrict, null=True, default=None)
    created_at = Timestamptz()


class InvoiceAttachment(TenantOwned, Table, tablename="invoice_attachment"):
    """A PDF or XML (CFDI, DIAN…) file from the ERP, attached to an invoice; type from its bytes."""

    invoice = ForeignKey(Invoice, on_delete=OnDelete.cascade, index=True, null=False)
    filename = Varchar(length=200)
    content_type = Varchar(length=100)
    size = Integer(default=0)
    sha256 = Varchar(length=64)
    content = Bytea()
    uploaded_by = Varchar(length=100, default="")
    created_at = Timestamptz()


# --- records (back-office customers and invoices; migration 0015) -------------------------------


class CustomerNote(TenantOwned, Table, tablename="customer_note"):
    """A staff note on a customer, shown in the customer's timeline. Never shown to the customer."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True, null=False)
    author = ForeignKey(StaffUser, on_delete=OnDelete.set_null, null=True, default=None)
    body = Text(default="")
    created_at = Timestamptz()


class CreditNote(TenantOwned, Table, tablename="credit_note"):
    """Part of an invoice taken back by the business (``core/billing/credit_notes.py``).

    Issuing one lowers the invoice's ``total`` by ``amount`` in the ledger's transaction, so the
    invoice's balance (``total - amount_applied``) and every statement follow; what was first
    invoiced is ``subtotal + tax``.
    """

    invoice = ForeignKey(Invoice, on_delete=OnDelete.restrict, index=True, null=False)
    number = Varchar(length=80)
    amount = BigInt()
    currency = Varchar(length=3)
    reason = Varchar(length=500)
    created_by = Varchar(length=100, default="")
    created_at = Timestamptz()


# --- settings (owner settings of the back office) ---------------------------------------------


class TenantLogo(TenantOwned, Table, tablename="tenant_logo"):
    """The logo an owner uploaded in Ajustes → Marca, served at ``/t/<slug>/logo/<digest>.<ext>``.

    One row per tenant (a new upload replaces it). ``content_type`` is sniffed from the bytes
    (PNG, JPEG or WebP; SVG is refused), never taken from the browser; ``digest`` (SHA-256 of the
    bytes, hex) names the URL, so a new logo has a new address and caches never show the old one.
    """

    content_type = Varchar(length=30)
    content = Bytea()
    digest = Varchar(length=64)
    width = Integer(default=0)
    height = Integer(default=0)
    created_at = Timestamptz()


# --- team: one-time staff links, two-factor sign-in, team policy (migration 18) -----------------


class StaffToken(TenantOwned, Table, tablename="staff_token"):
    """A one-time staff link (``invite``, ``reset``) or a sign-in awaiting its code (``login2fa``).

    Only the SHA-256 of the token is stored; it is claimed once by a conditional update
    (``used_at IS NULL``), so two concurrent uses cannot both succeed.
    """

    kind = Varchar(length=10)  # invite, reset, login2fa
    email = Varchar(length=254)
    role = Varchar(length=20, default="")
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_by = Varchar(length=100, default="")
    created_at = Timestamptz()


class StaffTotp(TenantOwned, Table, tablename="staff_totp"):
    """A staff user's TOTP secret (encrypted) and the last time step a code was accepted for."""

    staff = ForeignKey(StaffUser, on_delete=OnDelete.cascade, unique=True, index=True, null=False)
    secret = Text(default="")  # encrypted with a key derived from RECAUDO_SECRET_KEY
    enabled = Boolean(default=False)
    last_step = BigInt(default=0)
    recovery = JSON(default="[]")  # SHA-256 of the unused one-time recovery codes
    created_at = Timestamptz()
    enabled_at = Timestamptz(null=True, default=None)


class TeamPolicy(TenantOwned, Table, tablename="team_policy"):
    """Per-tenant team settings: owners must use 2FA; the onboarding checklist was dismissed."""

    owners_require_2fa = Boolean(default=False)
    checklist_dismissed = Boolean(default=False)
    updated_at = Timestamptz()


# --- webhooks (outbound, to the tenant's own systems) -------------------------------------------


class WebhookEndpoint(TenantOwned, Table, tablename="webhook_endpoint"):
    """A URL of the tenant's systems that receives signed events (``core/webhooks``).

    ``secret`` and ``previous_secret`` are encrypted at rest like plugin secrets; the previous
    one still signs (a second ``v1``) until ``previous_expires_at`` after a rotation.
    """

    url = Varchar(length=2000)
    description = Varchar(length=200, default="")
    events = JSON(default='["*"]')  # event types, "*" = all
    active = Boolean(default=True)
    secret = Text(default="")
    previous_secret = Text(default="")
    previous_expires_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class WebhookDelivery(TenantOwned, Table, tablename="webhook_delivery"):
    """One event sent (or being sent) to one endpoint; ``payload`` is the exact JSON body."""

    endpoint = ForeignKey(WebhookEndpoint, on_delete=OnDelete.cascade, index=True, null=False)
    event_id = Varchar(length=36, index=True)
    event_type = Varchar(length=50)
    payload = Text(default="")
    status = Varchar(length=20, default="pending", index=True)  # pending delivered failed dead
    attempts = Integer(default=0)
    last_status_code = Integer(null=True, default=None)
    last_error = Varchar(length=300, default="")
    response_excerpt = Text(default="")
    next_attempt_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    delivered_at = Timestamptz(null=True, default=None)


# --- imports (area: imports, migration 0016) ----------------------------------------------------


class ImportMapping(TenantOwned, Table, tablename="import_mapping"):
    """A tenant's saved column mapping for one kind of import: ``{file column: field}``.

    Unique per (tenant, kind) (``uq_import_mapping_tenant_kind``, migration 0016).
    """

    kind = Varchar(length=20)  # customers, invoices
    mapping = JSON(default="{}")
    updated_at = Timestamptz()


class ImportRun(TenantOwned, Table, tablename="import_run"):
    """One upload in the back office: its file, then a dry run or an import run as a job.

    The job reports progress here (``rows_done`` of ``rows_total``) for the page to poll; the file
    is kept until the import is done so the same upload can be checked and then imported.
    """

    kind = Varchar(length=20)
    filename = Varchar(length=200, default="")
    content = Bytea(default=b"")
    mapping = JSON(default="{}")
    mode = Varchar(length=20, default="dry_run")  # dry_run, import
    status = Varchar(length=20, default="queued")  # queued, running, checked, done, failed
    rows_done = Integer(default=0)
    rows_total = Integer(default=0)
    errors = JSON(default="[]")
    result = JSON(default="{}")
    actor = Varchar(length=100, default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


# --- REST API: keys and idempotency (api area, migration 0013) ---------------------------------

API_KEY_SCOPES = ("read", "write")


class ApiKey(TenantOwned, Table, tablename="api_key"):
    """A key for ``/api/v1``. The key decides the tenant; only the SHA-256 of its secret is kept.

    The full key reads ``rk_<prefix>_<secret>``: ``prefix`` is the public, unique lookup part.
    """

    name = Varchar(length=100, default="")
    prefix = Varchar(length=32, unique=True)
    secret_hash = Varchar(length=64)
    scope = Varchar(length=10, default="read")  # read | write
    created_by = Varchar(length=100, default="")
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class IdempotencyRecord(TenantOwned, Table, tablename="idempotency_record"):
    """One ``Idempotency-Key`` of a tenant and the response it got (replayed for 24 hours).

    ``lookup`` is ``"<tenant id>:<key>"`` under a unique index: the first request to insert it
    owns the key, so concurrent requests with one key execute once.
    """

    lookup = Varchar(length=280, unique=True)
    key = Varchar(length=255)
    api_key_id = Integer(default=0)
    request = Varchar(length=300)  # "POST /api/v1/invoices"
    body_hash = Varchar(length=64)
    state = Varchar(length=20, default="started")  # started | done
    response_status = Integer(default=0)
    response_body = Text(default="")
    created_at = Timestamptz(index=True)


# --- contacts and promises (issue #11) ----------------------------------------------------------


class ContactAttempt(TenantOwned, Table, tablename="contact_attempt"):
    """One collection contact with a customer: planned, deferred by a rule, sent, delivered or
    failed. ``key`` (unique per tenant) is written *before* sending, so a crashed worker never
    sends the same contact twice; ``rule``/``reason`` say why it waits."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True, null=False)
    key = Varchar(length=200)
    kind = Varchar(length=30, default="reminder")  # reminder, letter, upcoming_charge, …
    stage = BigInt(null=True, default=None)
    invoice_ids = JSON(default="[]")
    channel = Varchar(length=30, default="")
    # planned, deferred, sending, sent, delivered, failed, skipped
    status = Varchar(length=20, default="planned", index=True)
    scheduled_for = Timestamptz(index=True)
    rule = Varchar(length=200, default="")
    reason = Varchar(length=500, default="")
    notification = ForeignKey(
        NotificationLog, on_delete=OnDelete.set_null, null=True, default=None, index=False
    )
    provider_id = Varchar(length=120, default="")
    error = Varchar(length=500, default="")
    attempts = Integer(default=0)
    claimed_at = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PaymentPromise(TenantOwned, Table, tablename="payment_promise"):
    """A customer's promise to pay invoices by a date: ``pending`` until it is ``kept`` (paid on
    time) or ``broken``; reminders pause for its invoices while it is pending and not due."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True, null=False)
    currency = Varchar(length=3)
    amount = BigInt(default=0)
    promised_date = Date(index=True)
    status = Varchar(length=20, default="pending", index=True)  # pending, kept, broken, cancelled
    source = Varchar(length=30, default="")  # hardship, staff, api
    source_id = BigInt(null=True, default=None)
    note = Varchar(length=500, default="")
    created_by = Varchar(length=100, default="")
    created_at = Timestamptz()
    resolved_at = Timestamptz(null=True, default=None)
    staff_told = Boolean(default=False)


class PromiseInvoice(TenantOwned, Table, tablename="promise_invoice"):
    """Which invoices a promise covers (a join table, so the reminder sweep stays set-based)."""

    promise = ForeignKey(PaymentPromise, on_delete=OnDelete.cascade, index=True, null=False)
    invoice = ForeignKey(Invoice, on_delete=OnDelete.cascade, index=True, null=False)


class DunningPolicy(TenantOwned, Table, tablename="dunning_policy"):
    """A tenant's reminder policy for one customer ``segment`` ("" is the default policy)."""

    name = Varchar(length=100, default="")
    segment = Varchar(length=40, default="")
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class DunningStage(TenantOwned, Table, tablename="dunning_stage"):
    """One step of a policy, ``offset_days`` from the due date (negative: before it).

    ``channels`` lists channel names in order of preference; ``templates`` maps a language to
    ``{"subject", "body"}`` per form of address (see :mod:`recaudo.core.collections.policies`);
    ``action`` is "", ``call`` (flag for a call), ``late_fee``, ``letter``, ``pause_autopay`` or
    ``handoff``; ``fallback`` lets a permanently failed message go through the next channel.
    """

    policy = ForeignKey(DunningPolicy, on_delete=OnDelete.cascade, index=True, null=False)
    position = Integer(default=0)
    offset_days = Integer(default=0)
    name = Varchar(length=100, default="")
    channels = JSON(default="[]")
    templates = JSON(default="{}")
    action = Varchar(length=30, default="")
    fallback = Boolean(default=True)
    created_at = Timestamptz()


class DunningMark(TenantOwned, Table, tablename="dunning_mark"):
    """That an invoice got (or skipped) a stage: unique per invoice and stage, so no stage is
    ever sent twice, whatever the number of workers. Written in the transaction that plans the
    contact."""

    invoice = ForeignKey(Invoice, on_delete=OnDelete.cascade, index=True, null=False)
    stage = ForeignKey(DunningStage, on_delete=OnDelete.cascade, index=True, null=False)
    contact = ForeignKey(
        ContactAttempt, on_delete=OnDelete.set_null, null=True, default=None, index=True
    )
    status = Varchar(length=20, default="sent")  # sent (planned or sent), skipped
    created_at = Timestamptz()


class AutopayEnrollment(TenantOwned, Table, tablename="autopay_enrollment"):
    """A customer's consent to be charged automatically on a saved instrument (autopay).

    ``status``: ``pending`` (sent to the provider's hosted "save card" page, ``setup_token``
    binds the return), ``active``, ``paused`` or ``cancelled``. ``scope`` says what is charged:
    ``invoices`` (open invoices on their due date), ``plan`` (plan installments) or ``both``.
    Only the provider's instrument id is kept, never card data.
    """

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True, null=False)
    plugin = Varchar(length=50)
    method = Varchar(length=50)
    provider_instrument_id = Varchar(length=200, default="")
    provider_customer_id = Varchar(length=120, default="")
    label = Varchar(length=100, default="")
    expires = Varchar(length=10, default="")
    scope = Varchar(length=20, default="both")
    days_before_reminder = Integer(default=3)
    status = Varchar(length=20, default="pending", index=True)
    setup_token = Varchar(length=64, default="")
    terms_version = Varchar(length=20, default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class AutopayCharge(TenantOwned, Table, tablename="autopay_charge"):
    """One automatic charge attempt for one target (an invoice or a plan installment).

    ``key`` is unique (``t<tenant>:<kind>:<target>:<attempt>``) and written *before* the
    provider is called: a second worker or a re-run after a crash finds it and cannot charge
    the same target twice; the payment's idempotency key derives from it, so a repeated call
    to the provider is answered with the same provider payment.
    ``status``: planned, charging, approved, rejected, failed, cancelled or paused.
    """

    enrollment = ForeignKey(AutopayEnrollment, on_delete=OnDelete.cascade, index=True, null=False)
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True, null=False)
    target_kind = Varchar(length=20)  # invoice | installment
    target_id = BigInt(index=True)
    invoice_ids = JSON(default="[]")
    attempt = Integer(default=1)
    key = Varchar(length=120, unique=True)
    payment = ForeignKey(Payment, on_delete=OnDelete.set_null, null=True, default=None, index=True)
    currency = Varchar(length=3, default="")
    amount = BigInt(default=0)
    status = Varchar(length=20, default="planned", index=True)
    scheduled_for = Timestamptz(index=True)
    error = Varchar(length=500, default="")
    claimed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


# --- late fees (issue #11) ----------------------------------------------------------------------


class InvoiceCharge(TenantOwned, Table, tablename="invoice_charge"):
    """A charge added to an invoice after it was issued (a late fee): it raised ``total`` by
    ``amount`` in the same transaction. ``period`` is unique per invoice and kind, so a fee for
    one month overdue is charged once however many workers run; a waived charge keeps its row
    (and its period) and gave its amount back to ``total``. ``rate_bp``/``days_late`` are the
    reason the customer reads, rendered in their language."""

    invoice = ForeignKey(Invoice, on_delete=OnDelete.cascade, index=True, null=False)
    kind = Varchar(length=20, default="late_fee")
    period = Varchar(length=20)
    amount = BigInt()
    currency = Varchar(length=3)
    base = BigInt(default=0)  # the unpaid principal the fee was computed on
    rate_bp = Integer(default=0)
    days_late = Integer(default=0)
    reason = Varchar(length=300, default="")
    created_at = Timestamptz()
    waived = Boolean(default=False)
    waived_by = Varchar(length=100, default="")
    waived_at = Timestamptz(null=True, default=None)


# --- bank reconciliation (issue #12, migration 0026) --------------------------------------------


class BankStatement(TenantOwned, Table, tablename="bank_statement"):
    """One imported statement file. ``file_sha256`` is unique per tenant, so the same file imported
    twice (or by two people at once) is stored once; ``counts`` is what its import found."""

    format = Varchar(length=20)  # mt940, camt053, ofx, csv
    account = Varchar(length=64, default="")
    currency = Varchar(length=3)
    statement_id = Varchar(length=100, default="")  # the bank's own id of the statement
    opening_balance = BigInt(null=True, default=None)
    closing_balance = BigInt(null=True, default=None)
    file_sha256 = Varchar(length=64)
    filename = Varchar(length=200, default="")
    source = Varchar(length=20, default="")  # cli, web, api
    imported_by = Varchar(length=100, default="")
    counts = JSON(default="{}")
    created_at = Timestamptz()


class BankLine(TenantOwned, Table, tablename="bank_line"):
    """One movement of a statement and what became of it (``core/reconciliation/review.py``).

    ``key`` (unique per tenant) recognises a movement seen in an earlier, overlapping file. The
    row is the lock of every decision on the movement: applying, accepting and undoing lock it,
    so one wins. ``payment`` is unique: a payment belongs to at most one line. ``generation``
    grows with each undo and is part of the payment's idempotency key, so applying again after
    an undo records a new payment while a retry of the same application never does.
    """

    statement = ForeignKey(BankStatement, on_delete=OnDelete.cascade, index=True, null=False)
    line_no = Integer(default=0)
    key = Varchar(length=100)
    booked_on = Date()
    amount = BigInt()  # minor units; negative for money out
    currency = Varchar(length=3)
    reference = Varchar(length=200, default="")
    description = Text(default="")
    payer_name = Varchar(length=200, default="")
    payer_account = Varchar(length=64, default="")
    # matched, review, unmatched, ignored, debit
    status = Varchar(length=20, default="unmatched", index=True)
    rule = Varchar(length=50, default="")
    confidence = DoublePrecision(null=True, default=None)
    candidates = JSON(default="[]")
    customer = ForeignKey(
        Customer, on_delete=OnDelete.restrict, null=True, default=None, index=True
    )
    payment = ForeignKey(Payment, on_delete=OnDelete.restrict, null=True, default=None)
    applied_as = Varchar(length=20, default="")  # payment, checkout, linked
    generation = Integer(default=0)
    decided_by = Varchar(length=100, default="")
    decided_at = Timestamptz(null=True, default=None)
    note = Varchar(length=500, default="")
    created_at = Timestamptz()


class BankCsvProfile(TenantOwned, Table, tablename="bank_csv_profile"):
    """A bank's CSV layout saved by a tenant (``CsvProfile.to_dict()``); ``name`` unique per
    tenant."""

    name = Varchar(length=60)
    mapping = JSON(default="{}")
    updated_at = Timestamptz()


# --- the collector's workspace ------------------------------------------------------------------


class CreditDecision(TenantOwned, Table, tablename="credit_decision"):
    """A staff decision on a customer's credit, with the evaluation it was made on.

    The evaluation (score, grade, reasons, suggested limit and terms) is stored as it was shown,
    so the audit trail says what the collector saw, not what the model would say today.
    """

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True, null=False)
    currency = Varchar(length=3)
    score = Integer(default=0)  # 0 (worst) .. 100 (best)
    grade = Varchar(length=10, default="")
    reasons = JSON(default="[]")
    suggested_limit = BigInt(default=0)
    suggested_terms_days = Integer(default=0)
    decision = Varchar(length=20, default="approved")  # approved, adjusted, refused, hold
    credit_limit = BigInt(null=True, default=None)
    credit_terms_days = Integer(null=True, default=None)
    note = Varchar(length=500, default="")
    decided_by = ForeignKey(StaffUser, on_delete=OnDelete.set_null, null=True, default=None)
    created_at = Timestamptz()


class WorkTask(TenantOwned, Table, tablename="work_task"):
    """A to-do for a collector (call back, send a statement, check a transfer) with a due date."""

    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, null=True, default=None, index=True)
    assignee = ForeignKey(
        StaffUser, on_delete=OnDelete.set_null, null=True, default=None, index=True
    )
    title = Varchar(length=200)
    kind = Varchar(length=20, default="follow_up")  # call, follow_up, statement, check, other
    due_date = Date(index=True)
    status = Varchar(length=20, default="open", index=True)  # open, done, cancelled
    note = Varchar(length=500, default="")
    created_by = Varchar(length=100, default="")
    created_at = Timestamptz()
    done_at = Timestamptz(null=True, default=None)
    done_by = Varchar(length=100, default="")
