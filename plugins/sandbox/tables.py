"""The sandbox gateway's own bookkeeping: what its pretend provider knows about each charge."""

from __future__ import annotations

from piccolo.columns import BigInt, Timestamptz, Varchar
from piccolo.table import Table

from recaudo.api import TenantOwned


class SandboxCharge(TenantOwned, Table, tablename="sandbox_charge"):
    provider_id = Varchar(length=40, unique=True)
    our_payment_id = BigInt(index=True)
    currency = Varchar(length=3)
    amount = BigInt()
    amount_refunded = BigInt(default=0)
    status = Varchar(length=20, default="pending")
    notification_url = Varchar(length=500)
    return_url = Varchar(length=500)
    description = Varchar(length=300, default="")
    expires_at = Timestamptz(null=True, default=None)  # the checkout page refuses it afterwards
    created_at = Timestamptz()
    updated_at = Timestamptz()
