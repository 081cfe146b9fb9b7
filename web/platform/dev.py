"""Development outbox: what the notification channels recorded, for installs without SMTP.

``GET /dev/outbox`` exists only with ``RECAUDO_ENV=development`` (``make run``), so a person trying
Recaudo can open their one-time link; ``?format=json`` lists the messages for scripts and ``?to=``
filters by recipient. It lists every tenant's messages, so production never registers it (404)
whatever the mail configuration: there, messages wait for SMTP instead of showing on a page.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from recaudo.core.tables import NotificationLog
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import unscoped
from recaudo.web.deps import settings_of
from recaudo.web.templating import render

URL_RE = re.compile(r"https?://[^\s<>\"']+")


@get("/dev/outbox", name="dev:outbox", operation_id="dev_outbox")
async def outbox(request: Request) -> Template | Response[Any]:
    if not settings_of(request).is_development:  # also unregistered there; belt and braces
        raise NotFoundException("No encontrado")
    log = unscoped(NotificationLog)
    query = (
        log.select(
            log.id,
            log.tenant,
            log.channel,
            log.recipient,
            log.subject,
            log.body_text,
            log.status,
            log.created_at,
        )
        .order_by(log.id, ascending=False)
        .limit(50)
    )
    recipient = request.query_params.get("to", "").strip().lower()
    if recipient:
        query = query.where(log.recipient == recipient)
    rows = await query
    slugs = {int(t["id"]): t["slug"] for t in await Tenant.select(Tenant.id, Tenant.slug)}
    messages = [
        {
            **row,
            "tenant_slug": slugs.get(int(row["tenant"]), "?"),
            "links": URL_RE.findall(row["body_text"] or ""),
        }
        for row in rows
    ]
    if request.query_params.get("format") == "json":
        return Response(
            [
                {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in m.items()}
                for m in messages
            ]
        )
    return await render(request, "dev/outbox.html", None, messages=messages)


ROUTES = [outbox]
