"""Request and response bodies of ``/api/v1`` (msgspec Structs; they are the OpenAPI schemas).

Money is always an integer amount in the currency's minor units (centavos: ``123450`` MXN is
$1,234.50) next to an ISO 4217 ``currency`` code; never a float or a decimal string.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from recaudo.tenants.scoped import MAX_ID

MINOR = "Integer amount in minor units of `currency` (e.g. 123450 MXN = $1,234.50)."
MAX_AMOUNT = 10**15  # minor units; far beyond any invoice, far below a 64-bit column

Id = Annotated[int, Meta(ge=1, le=MAX_ID, description="Row id (1 … 2³¹−1).")]
Amount = Annotated[int, Meta(ge=0, le=MAX_AMOUNT, description=MINOR)]
Currency = Annotated[
    str, Meta(pattern="^[A-Z]{3}$", description="ISO 4217 currency code, e.g. MXN, COP.")
]


def text(max_length: int, description: str, min_length: int = 0) -> object:
    return Meta(min_length=min_length, max_length=max_length, description=description)


# --- errors and pages ---------------------------------------------------------------------------


class FieldError(Struct):
    field: Annotated[
        str, Meta(description="The field at fault, e.g. `number` or `invoices[3].due_date`.")
    ]
    message: str


class ErrorBody(Struct):
    """Every 4xx answer: a status, a summary and the errors field by field."""

    status_code: int
    detail: str
    errors: list[FieldError] = msgspec.field(default_factory=list)


# --- customers ----------------------------------------------------------------------------------

FISCAL_NAME = (
    "Name exactly as on the customer's tax registration (SAT: razón social, without the "
    "regime suffix such as S.A. de C.V.); empty to use `name`."
)
FISCAL_REGIME = "The customer's tax regime code (SAT: c_RegimenFiscal, e.g. `601`)."
FISCAL_POSTAL_CODE = "The postal code of the customer's fiscal domicile (SAT: 5 digits)."
FISCAL_USE = "What the customer uses the document for (SAT: UsoCFDI, e.g. `G03`)."

Channel = Annotated[
    str, Meta(pattern="^(email|sms|whatsapp)$", description="email, sms or whatsapp.")
]


class CustomerIn(Struct, forbid_unknown_fields=True):
    """A new customer (debtor). Its tax id is validated for its country (python-stdnum)."""

    number: Annotated[str, text(64, "The tenant's own customer number; unique.", 1)]
    name: Annotated[str, text(200, "Name or business name.", 1)]
    email: Annotated[str, text(254, "Where reminders and sign-in links go.")] = ""
    phone: Annotated[str, text(32, "Digits, optionally with a leading +.")] = ""
    tax_id: Annotated[str, text(32, "RFC, NIT, RUT… validated for `tax_country`.")] = ""
    tax_country: Annotated[
        str, Meta(pattern="^([A-Za-z]{2})?$", description="ISO 3166 code; the tenant's by default.")
    ] = ""
    preferred_channel: Channel = "email"
    segment: Annotated[str, text(40, "One short label, e.g. `mayoreo`.")] = ""
    tags: Annotated[list[Annotated[str, Meta(max_length=30)]], Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    fiscal_name: Annotated[str, text(300, FISCAL_NAME)] = ""
    fiscal_regime: Annotated[str, text(10, FISCAL_REGIME)] = ""
    fiscal_postal_code: Annotated[str, text(10, FISCAL_POSTAL_CODE)] = ""
    fiscal_use: Annotated[str, text(10, FISCAL_USE)] = ""


class CustomerPatch(Struct, forbid_unknown_fields=True):
    number: Annotated[str, text(64, "A new customer number; unique.", 1)] | None = None
    """Fields to change; those left out keep their value."""

    name: Annotated[str, text(200, "Name or business name.", 1)] | None = None
    email: Annotated[str, text(254, "Email; empty to remove.")] | None = None
    phone: Annotated[str, text(32, "Phone; empty to remove.")] | None = None
    tax_id: Annotated[str, text(32, "Tax id; empty to remove.")] | None = None
    tax_country: (
        Annotated[str, Meta(pattern="^([A-Za-z]{2})?$", description="ISO 3166 code.")] | None
    ) = None
    preferred_channel: Channel | None = None
    segment: Annotated[str, text(40, "One short label; empty to remove.")] | None = None
    tags: Annotated[list[Annotated[str, Meta(max_length=30)]], Meta(max_length=20)] | None = None
    fiscal_name: Annotated[str, text(300, FISCAL_NAME)] | None = None
    fiscal_regime: Annotated[str, text(10, FISCAL_REGIME)] | None = None
    fiscal_postal_code: Annotated[str, text(10, FISCAL_POSTAL_CODE)] | None = None
    fiscal_use: Annotated[str, text(10, FISCAL_USE)] | None = None


class CustomerOut(Struct):
    id: int
    number: str
    name: str
    email: str
    phone: str
    tax_id: str
    tax_country: str
    preferred_channel: str
    segment: str
    tags: list[str]
    created_at: datetime | None
    fiscal_name: str = ""
    fiscal_regime: str = ""
    fiscal_postal_code: str = ""
    fiscal_use: str = ""


class CustomerPage(Struct):
    data: list[CustomerOut]
    next: Annotated[
        str | None, Meta(description="Pass as `cursor` for the next page; null on the last.")
    ]


# --- invoices -----------------------------------------------------------------------------------


class LineIn(Struct, forbid_unknown_fields=True):
    description: Annotated[str, text(500, "What is charged.", 1)]
    unit_amount: Annotated[int, Meta(ge=0, le=MAX_AMOUNT, description=MINOR)]
    quantity: Annotated[int, Meta(ge=1, le=1_000_000, description="Whole units.")] = 1


class InvoiceIn(Struct, forbid_unknown_fields=True):
    """A new invoice. `total` = Σ quantity × unit_amount + `tax`, all in minor units."""

    customer_id: Annotated[int, Meta(ge=1, le=MAX_ID, description="The customer's id.")]
    number: Annotated[str, text(64, "Invoice number (folio); unique per tenant.", 1)]
    due_date: Annotated[date, Meta(description="YYYY-MM-DD.")]
    lines: Annotated[list[LineIn], Meta(min_length=1, max_length=200)]
    issue_date: Annotated[date | None, Meta(description="YYYY-MM-DD; today by default.")] = None
    currency: (
        Annotated[str, Meta(pattern="^[A-Z]{3}$", description="ISO 4217; the tenant's default.")]
        | None
    ) = None
    tax: Annotated[int, Meta(ge=0, le=MAX_AMOUNT, description="Tax, " + MINOR)] = 0
    description: Annotated[str, text(500, "Shown to the customer.")] = ""
    external_id: Annotated[str, text(100, "The id in your ERP; filter lists by it.", 1)] | None = (
        None
    )


class BulkInvoicesIn(Struct, forbid_unknown_fields=True):
    """Up to 1,000 invoices created all together or not at all."""

    invoices: Annotated[list[InvoiceIn], Meta(min_length=1, max_length=1000)]


class LineOut(Struct):
    description: str
    quantity: int
    unit_amount: Annotated[int, Meta(description=MINOR)]
    amount: Annotated[int, Meta(description=MINOR)]


class InvoiceOut(Struct, omit_defaults=True):
    id: int
    customer_id: int
    number: str
    status: Annotated[str, Meta(description="open, partially_paid, paid or void.")]
    currency: str
    subtotal: Annotated[int, Meta(description=MINOR)]
    tax: Annotated[int, Meta(description=MINOR)]
    total: Annotated[int, Meta(description=MINOR)]
    amount_paid: Annotated[int, Meta(description="Applied payments and credits; " + MINOR)]
    balance: Annotated[int, Meta(description="Still owed (total − amount_paid); " + MINOR)]
    issue_date: date
    due_date: date
    description: str
    external_id: str | None
    disputed: bool
    lines: list[LineOut]
    created_at: datetime | None
    warnings: Annotated[
        list[str] | None,
        Meta(description="On creation only: e.g. the customer's credit limit is exceeded."),
    ] = None


class InvoicePage(Struct):
    data: list[InvoiceOut]
    next: Annotated[
        str | None, Meta(description="Pass as `cursor` for the next page; null on the last.")
    ]


class BulkInvoicesOut(Struct):
    data: list[InvoiceOut]


# --- payments and plans -------------------------------------------------------------------------


class PaymentOut(Struct):
    id: int
    customer_id: int
    method: str
    status: str
    currency: str
    amount: Annotated[int, Meta(description=MINOR)]
    amount_refunded: Annotated[int, Meta(description=MINOR)]
    created_at: datetime | None


class PaymentPage(Struct):
    data: list[PaymentOut]
    next: Annotated[
        str | None, Meta(description="Pass as `cursor` for the next page; null on the last.")
    ]


class InstallmentOut(Struct):
    number: int
    due_date: date
    amount: Annotated[int, Meta(description=MINOR)]
    amount_paid: Annotated[int, Meta(description=MINOR)]
    status: str


class PlanOut(Struct):
    id: int
    customer_id: int
    status: Annotated[str, Meta(description="active, completed, cancelled or review.")]
    currency: str
    total: Annotated[int, Meta(description=MINOR)]
    down_payment: Annotated[int, Meta(description=MINOR)]
    installments_count: int
    invoice_ids: list[int]
    installments: list[InstallmentOut]
    created_at: datetime | None


class PlanPage(Struct):
    data: list[PlanOut]
    next: Annotated[
        str | None, Meta(description="Pass as `cursor` for the next page; null on the last.")
    ]


# --- changes: manual payments, voids, credit notes ----------------------------------------------


class ManualPaymentIn(Struct, forbid_unknown_fields=True):
    """Money the customer paid outside the portal, applied at once through the ledger.

    The same `method` and `reference` twice record one payment (a retry returns it)."""

    customer_id: Annotated[int, Meta(ge=1, le=MAX_ID, description="The customer's id.")]
    amount: Annotated[int, Meta(ge=1, le=MAX_AMOUNT, description=MINOR)]
    method: Annotated[
        str, Meta(pattern="^(cash|cheque|transfer)$", description="cash, cheque or transfer.")
    ]
    reference: Annotated[str, text(80, "Receipt, cheque or transfer number.", 1)]
    currency: (
        Annotated[str, Meta(pattern="^[A-Z]{3}$", description="ISO 4217; the tenant's default.")]
        | None
    ) = None
    invoice_ids: Annotated[
        list[Annotated[int, Meta(ge=1, le=MAX_ID)]],
        Meta(max_length=200, description="Apply to these first, in order; then oldest due."),
    ] = msgspec.field(default_factory=list)
    received_on: Annotated[date | None, Meta(description="YYYY-MM-DD; today by default.")] = None


class VoidIn(Struct, forbid_unknown_fields=True):
    reason: Annotated[str, text(500, "Why the invoice is void (kept in the audit log).", 1)]


class CreditNoteIn(Struct, forbid_unknown_fields=True):
    amount: Annotated[int, Meta(ge=1, le=MAX_AMOUNT, description="At most the balance; " + MINOR)]
    reason: Annotated[str, text(500, "Why the amount is taken back.", 1)]


class CreditNoteOut(Struct):
    id: int
    invoice_id: int
    number: str
    amount: Annotated[int, Meta(description=MINOR)]
    currency: str
    reason: str
    created_at: datetime | None


# --- documents (invoice attachments) ------------------------------------------------------------


class DocumentIn(Struct, forbid_unknown_fields=True):
    """A PDF or XML file from the ERP, its bytes in standard base64."""

    filename: Annotated[str, text(255, "The file's name, e.g. `F-1.pdf` (for display).", 1)]
    content_base64: Annotated[
        str,
        Meta(
            min_length=1,
            description=(
                "The file's bytes in standard base64 (RFC 4648; line breaks allowed). A PDF or "
                "an XML document, told by its first bytes; at most 10 MB decoded."
            ),
        ),
    ]


class DocumentOut(Struct):
    id: int
    invoice_id: int
    filename: str
    content_type: Annotated[str, Meta(description="`application/pdf` or `application/xml`.")]
    size: Annotated[int, Meta(description="Bytes.")]
    sha256: Annotated[str, Meta(description="SHA-256 of the bytes, hex.")]
    created_at: datetime | None
    download_url: Annotated[str, Meta(description="GET it (same key) for the file's bytes.")]


class DocumentPage(Struct):
    data: list[DocumentOut]
    next: Annotated[
        str | None, Meta(description="Always `null`: an invoice has at most 20 documents.")
    ] = None


# --- bank statements (reconciliation) -----------------------------------------------------------

StatementFormat = Annotated[
    str,
    Meta(
        pattern="^(mt940|camt053|ofx|csv)$",
        description="mt940, camt053, ofx or csv; detected from the content when left out.",
    ),
]
SIGNED = f"{MINOR} Negative for money out."


class BankStatementIn(Struct, forbid_unknown_fields=True):
    """A bank statement file (MT940, CAMT.053, OFX or CSV), its bytes in standard base64."""

    filename: Annotated[str, text(200, "The file's name, e.g. `2025-03.sta` (a hint).", 1)]
    content_base64: Annotated[
        str,
        Meta(
            min_length=1,
            description=(
                "The file's bytes in standard base64 (RFC 4648; line breaks allowed); at most "
                "20 MB decoded."
            ),
        ),
    ]
    format: StatementFormat | None = None
    csv_profile: (
        Annotated[str, text(60, "A CSV layout saved for the tenant (needed for a CSV).", 1)] | None
    ) = None


class StatementCounts(Struct):
    """What the statement's movements became. ``pending`` credits wait for the background job."""

    lines: int
    new: int
    already_imported: int
    matched: int
    review: int
    unmatched: int
    debits: int
    pending: int


class BankImportOut(Struct):
    """What one upload did; ``duplicate_file`` when this very file was imported before."""

    statement_id: int | None
    duplicate_file: bool
    format: str
    account: str
    currency: str
    applied: Annotated[int, Meta(description=f"{MINOR} Applied to invoices by this upload.")]
    counts: StatementCounts
    statement_url: str | None


class BankStatementOut(Struct):
    id: int
    format: str
    account: str
    currency: str
    reference: Annotated[str, Meta(description="The bank's own id of the statement.")]
    opening_balance: Annotated[int | None, Meta(description=SIGNED)]
    closing_balance: Annotated[int | None, Meta(description=SIGNED)]
    filename: str
    source: Annotated[str, Meta(description="`api`, `web` or `cli`.")]
    applied: Annotated[int, Meta(description=f"{MINOR} Applied to invoices by its import.")]
    counts: StatementCounts
    created_at: datetime | None
    lines_url: str


class BankStatementPage(Struct):
    data: list[BankStatementOut]
    next: Annotated[
        str | None, Meta(description="Pass as `cursor` for the next page; null on the last.")
    ]


class BankLineOut(Struct):
    id: int
    statement_id: int
    booked_on: date
    amount: Annotated[int, Meta(description=SIGNED)]
    currency: str
    reference: str
    description: str
    payer_name: str
    status: Annotated[
        str,
        Meta(description="matched, review, unmatched, ignored or debit (money out)."),
    ]
    rule: Annotated[str, Meta(description="The rule that matched or proposed; empty if none.")]
    confidence: float | None
    customer_id: int | None
    payment_id: Annotated[int | None, Meta(description="The payment it became, once matched.")]


class BankLinePage(Struct):
    data: list[BankLineOut]
    next: Annotated[
        str | None, Meta(description="Pass as `cursor` for the next page; null on the last.")
    ]


# --- electronic invoices (e-invoicing: SAT CFDI…) -----------------------------------------------


class MoneyOut(Struct):
    amount: Annotated[int, Meta(description=MINOR)]
    currency: str


class EInvoiceOut(Struct):
    """One tax document as the tenant's e-invoicing backend stored it."""

    id: int
    kind: Annotated[
        str, Meta(description="`invoice` (SAT Ingreso), `payment` (Pagos) or `credit`.")
    ]
    type: Annotated[str, Meta(description="The country's own type code (SAT: I, P, E).")]
    status: Annotated[
        str, Meta(description="issued, cancelled, cancel_pending, failed (see `error`) or pending.")
    ]
    uuid: Annotated[str, Meta(description="The fiscal id (SAT: folio fiscal UUID); empty if none.")]
    series: str
    folio: str
    invoice_id: int | None
    payment_id: int | None
    customer_id: int | None
    total: MoneyOut | None
    payment_terms: Annotated[str, Meta(description="SAT: PUE or PPD; empty if none.")]
    issued_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str
    replaces: Annotated[str, Meta(description="Fiscal id of the document this one substitutes.")]
    replaced_by: Annotated[str, Meta(description="Fiscal id of the document substituting this.")]
    error: Annotated[str, Meta(description="Why it failed, in the provider's (PAC's) words.")]
    files: Annotated[dict[str, str], Meta(description="Format (`xml`, `pdf`) → download URL.")]


class EInvoicePage(Struct):
    data: list[EInvoiceOut]
    next: Annotated[
        str | None, Meta(description="Pass as `cursor` for the next page; null on the last.")
    ]


CancelReason = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=2,
        description=(
            "SAT reason: `01` issued with errors, with a replacement (needs `replacement`); "
            "`02` issued with errors, no replacement; `03` the operation did not happen; "
            "`04` nominative operation in a global invoice."
        ),
    ),
]


class EInvoiceCancelIn(Struct, forbid_unknown_fields=True):
    reason: CancelReason
    replacement: Annotated[
        str, text(36, "The fiscal id (UUID) of the substituting document; reason 01 only.")
    ] = ""
