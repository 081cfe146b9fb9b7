"""Proofs of payment: look at the file, confirm (records the payment) or reject with a reason.

The file is customer-provided, so it is only ever served as an attachment, with a content type
from a short allow-list (anything else is ``application/octet-stream``) and a sanitised name.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from recaudo.core import inbox
from recaudo.core.tables import StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.routes.staff_common import form_data, staff_base, staff_page

SAFE_TYPES = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/heic": ".heic",
}


def served_type(declared: str) -> str:
    kind = (declared or "").split(";")[0].strip().lower()
    return kind if kind in SAFE_TYPES else "application/octet-stream"


def content_disposition(filename: str, proof_id: int, kind: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 original (RFC 6266/5987)."""
    name = (filename or "").replace("\\", "/").split("/")[-1].strip()
    fallback = f"comprobante-{proof_id}"
    name = re.sub(r"[\x00-\x1f\x7f\"]", "", name)[:150] or fallback
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("._") or fallback
    if "." not in ascii_name and kind in SAFE_TYPES:
        ascii_name += SAFE_TYPES[kind]
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@get("/proofs/{proof_id:int}", name="staff:proof", operation_id="staff_proof")
async def proof_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    proof_id: FromPath[int],
) -> Template:
    row = await inbox.proof(tenant_scope, proof_id)
    customer = await inbox.chat_customer(tenant_scope, int(row.customer))
    return await staff_page(
        request,
        "staff/proof.html",
        tenant,
        staff,
        proof=row,
        customer=customer,
        invoices=await inbox.proof_invoices(tenant_scope, row),
        size=len(row.content or b""),
    )


@get("/proofs/{proof_id:int}/file", name="staff:proof_file", operation_id="staff_proof_file")
async def proof_file(
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    proof_id: FromPath[int],
) -> Response[bytes]:
    row = await inbox.proof(tenant_scope, proof_id)
    kind = served_type(str(row.content_type))
    return Response(
        bytes(row.content or b""),
        media_type=kind,
        headers={
            "content-disposition": content_disposition(str(row.filename), proof_id, kind),
            "cache-control": "private, no-store",
        },
    )


@post(
    "/proofs/{proof_id:int}/confirm", name="staff:proof_confirm", operation_id="staff_proof_confirm"
)
async def proof_confirm(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    proof_id: FromPath[int],
) -> Redirect:
    await inbox.confirm_proof(tenant_scope, acting_staff, proof_id)
    return Redirect(f"{staff_base(request)}/proofs/{proof_id}", status_code=303)


@post("/proofs/{proof_id:int}/reject", name="staff:proof_reject", operation_id="staff_proof_reject")
async def proof_reject(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    proof_id: FromPath[int],
) -> Redirect:
    form = await form_data(request)
    await inbox.reject_proof(tenant_scope, acting_staff, proof_id, form.get("reason"))
    return Redirect(f"{staff_base(request)}/proofs/{proof_id}", status_code=303)


ROUTES = [proof_page, proof_file, proof_confirm, proof_reject]
