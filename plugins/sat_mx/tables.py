"""The SAT plugin's own tables: every CFDI it issued (or tried to) and the folio counters."""

from __future__ import annotations

from typing import Any

from piccolo.columns import JSON, BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from recaudo.api import TenantOwned

STATUSES = ("pending", "issued", "failed", "cancelled", "cancel_pending")


class SatDocument(TenantOwned, Table, tablename="sat_document"):
    """One CFDI. ``key`` (unique per tenant) makes issuing idempotent: the row is inserted
    ``pending`` before anything is signed, so a second caller with the same key finds it."""

    id: Any
    key = Varchar(length=200)
    kind = Varchar(length=10)  # invoice | payment | credit
    type_code = Varchar(length=1)  # I | P | E
    status = Varchar(length=20, default="pending")
    uuid = Varchar(length=36, default="")
    series = Varchar(length=25, default="")
    folio = Varchar(length=40, default="")
    invoice_id = BigInt(null=True, default=None, index=True)
    payment_id = BigInt(null=True, default=None, index=True)
    customer_id = BigInt(null=True, default=None)
    invoice_ids = JSON(default="[]")
    details = JSON(default="[]")  # Pagos: per related invoice, what the complement says
    total = BigInt(default=0)
    currency = Varchar(length=3, default="MXN")
    payment_terms = Varchar(length=3, default="")  # PUE | PPD
    xml = Text(default="")
    issued_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    cancel_reason = Varchar(length=2, default="")
    replaces = Varchar(length=36, default="")
    replaced_by = Varchar(length=36, default="")
    error = Text(default="")
    pac = Varchar(length=20, default="")
    created_at = Timestamptz()


class SatFolio(TenantOwned, Table, tablename="sat_folio"):
    """The next folio of one series; advanced by one atomic UPDATE … RETURNING."""

    series = Varchar(length=25)
    next = Integer(default=1)
