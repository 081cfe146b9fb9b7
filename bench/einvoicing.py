"""Benchmark: issuing CFDIs and payment complements through Recaudo, against satcfdi alone.

In one run, on a fresh database (a temporary SQLite file, or the PostgreSQL of
``RECAUDO_BENCH_DATABASE_URL`` whose ``public`` schema is WIPED), with the ``sat_mx`` plugin on
SAT's public test CSD and the local fake PAC (development mode):

* baseline: satcfdi alone builds and seals the same CFDI 4.0 Ingreso N times (no schema check,
  no stamp, no storage) — the floor any implementation pays;
* ``issue_invoice`` for N invoices: request from the ledger, build, seal, XSD validation, the fake
  PAC's stamp (a second RSA signature), the document row, the invoice's cache columns, audit;
* ``sync_payment`` for N partial payments of those (PPD) invoices: the Pagos 2.0 complement.

Prints documents per second and each time's ratio to the baseline. No target: the PAC's round
trip (hundreds of milliseconds on a real one) dominates in production; this shows what Recaudo
adds on top of the library.

    .venv/bin/python bench/einvoicing.py [--invoices 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-cfdi"


async def prepare(url: str) -> Any:
    from recaudo.core import config, db
    from recaudo.core.config import Settings
    from recaudo.core.platform.host import PluginHost, set_host
    from recaudo.plugins.sat_mx import settings as sat_settings
    from recaudo.plugins.sat_mx.demo import demo_settings
    from recaudo.tenants.plugin_config import set_plugin
    from recaudo.tenants.scoped import TenantScope
    from recaudo.tenants.service import NewTenant, create_tenant

    if url.startswith(("postgresql://", "postgres://")):
        import asyncpg

        conn = await asyncpg.connect(url)
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await conn.close()
    settings = Settings(
        env="development", database_url=url, secret_key="bench-" + "k" * 40, base_url=""
    )
    config._active = settings  # type: ignore[attr-defined]
    host = PluginHost()
    host.load_entry_points()
    set_host(host)
    host.results("recaudo_startup", settings=settings)
    sat_settings.set_development(True)
    db.configure(url)
    await db.start_pool()
    with contextlib.redirect_stdout(io.StringIO()):
        await db.migrate()
    tenant = await create_tenant(
        NewTenant(SLUG, "Bench CFDI", "MX", "MXN", "es_MX", "America/Monterrey")
    )
    scope = TenantScope(int(tenant.id))
    await set_plugin(
        scope,
        "sat_mx",
        enabled=True,
        settings={**demo_settings(), "auto_issue": False},
        secret_key=settings.secret_key,
    )
    return scope


async def ledger(scope: Any, count: int) -> tuple[int, list[int]]:
    from recaudo.core.billing.customers import NewCustomer, create_customer
    from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
    from recaudo.core.tables import Customer

    customer = await create_customer(
        scope, NewCustomer("C-1", "Escuela Kemper Urgate SA de CV", "EKU9003173C9"), "MX"
    )
    await scope.update(
        Customer,
        {
            Customer.fiscal_name: "ESCUELA KEMPER URGATE",
            Customer.fiscal_regime: "601",
            Customer.fiscal_postal_code: "42501",
            Customer.fiscal_use: "G03",
        },
    ).where(Customer.id == customer.id)
    today = date.today()
    ids = []
    for i in range(count):
        row = await create_invoice(
            scope,
            NewInvoice(
                int(customer.id),
                f"B-{i + 1:05d}",
                today,
                today + timedelta(days=30),
                "MXN",
                (NewLine("Cemento gris 50 kg", 3, 24_500),),
                tax=3 * 24_500 * 16 // 100,
            ),
        )
        ids.append(int(row.id))
    return int(customer.id), ids


def baseline(count: int) -> float:
    """satcfdi alone: build and seal the same Ingreso ``count`` times."""
    from satcfdi.create.cfd import cfdi40
    from satcfdi.models import Signer

    from recaudo.plugins.sat_mx.demo import demo_settings

    values = demo_settings()
    import base64

    signer = Signer.load(
        certificate=base64.b64decode(values["csd_certificate"]),
        key=base64.b64decode(values["csd_key"]),
        password=str(values["csd_password"]).encode(),
    )
    started = time.perf_counter()
    for i in range(count):
        invoice = cfdi40.Comprobante(
            emisor=cfdi40.Emisor(rfc=signer.rfc, nombre=signer.legal_name, regimen_fiscal="601"),
            lugar_expedicion="42501",
            receptor=cfdi40.Receptor(
                rfc="EKU9003173C9",
                nombre="ESCUELA KEMPER URGATE",
                uso_cfdi="G03",
                domicilio_fiscal_receptor="42501",
                regimen_fiscal_receptor="601",
            ),
            conceptos=[
                cfdi40.Concepto(
                    clave_prod_serv="01010101",
                    cantidad=Decimal(3),
                    clave_unidad="E48",
                    descripcion="Cemento gris 50 kg",
                    valor_unitario=Decimal("245.00"),
                    impuestos=cfdi40.Impuestos(
                        traslados=cfdi40.Traslado(
                            impuesto="002", tipo_factor="Tasa", tasa_o_cuota=Decimal("0.160000")
                        )
                    ),
                )
            ],
            moneda="MXN",
            serie="A",
            folio=str(i + 1),
            metodo_pago="PPD",
            forma_pago="99",
        )
        invoice.sign(signer)
        invoice.xml_bytes()
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=200)
    args = parser.parse_args()
    count = max(1, args.invoices)
    url = os.environ.get("RECAUDO_BENCH_DATABASE_URL", "")
    workdir = None
    if not url:
        workdir = tempfile.TemporaryDirectory()
        url = f"sqlite:///{workdir.name}/bench.sqlite3"
    from recaudo.core import db
    from recaudo.core.einvoicing import service
    from recaudo.core.payments.settlement import record_allocated_payment

    scope = await prepare(url)
    customer_id, invoice_ids = await ledger(scope, count)
    base = baseline(count)

    started = time.perf_counter()
    for invoice_id in invoice_ids:
        await service.issue_invoice(scope, invoice_id, actor="bench")
    issuing = time.perf_counter() - started

    payments = []
    for i, invoice_id in enumerate(invoice_ids):
        payment, _ = await record_allocated_payment(
            scope,
            customer_id=customer_id,
            currency="MXN",
            amount=30_000,
            method="transfer",
            reference=f"SPEI-{i}",
            allocations=((invoice_id, 30_000),),
            source="staff",
        )
        payments.append(int(payment.id))
    started = time.perf_counter()
    complements = 0
    for payment_id in payments:
        complements += len(await service.sync_payment(scope, payment_id))
    paying = time.perf_counter() - started
    await db.close_pool()

    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"{count} invoices, {complements} complements, {kind}, fake PAC")
    print(f"baseline  satcfdi build + seal      {base:7.2f} s  {count / base:7.1f}/s  1.00×")
    for label, took in (
        ("issue_invoice (Ingreso, stamped)", issuing),
        ("sync_payment (Pagos 2.0, stamped)", paying),
    ):
        print(f"{label:34s}{took:7.2f} s  {count / took:7.1f}/s  {took / base:5.2f}×")
    if workdir is not None:
        workdir.cleanup()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    asyncio.run(main())
