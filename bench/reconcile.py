"""Benchmark: matching 100,000 bank statement lines against 1,000,000 open invoices on PostgreSQL.

In one run, on one fresh PostgreSQL schema (the database's ``public`` schema is WIPED):

* bulk-loads (``COPY``) one tenant with ~200,000 customers (three-word company names, the
  ``banktransfer`` plugin on with Damm-checked references) and 1,000,000 open invoices numbered
  densely (``F1000001``…, so a typo in a number is usually another real number), 10 % of them
  partly paid, a fifth with round amounts that many invoices share, due dates over four months;
* writes 100,000 statement lines with a labelled ground truth (who paid which invoices):
  exact references (one invoice or several that add up), references with a wrong check digit,
  exact invoice numbers written in several ways, numbers with a typo, several numbers in one
  line (N:1), one invoice paid in two lines (1:N), bank fees within the tolerance, the payer's
  name plus an amount, a payer account seen earlier in the file, duplicates of an earlier payment,
  money that belongs to nobody and debits;
* times ``load_book`` + ``load_match_rules`` + ``match_lines`` (the engine's whole work for a
  statement), and a baseline in the same run: exact invoice number + exact amount only;
* prints lines per second, the share of matchable lines matched automatically, the share of
  lines matched wrongly (another customer or other invoices than the truth), each against the
  baseline, and the result per kind of line.

Targets: under 20 s on PostgreSQL, ≥ 95 % of matchable lines automatic, ≤ 0.1 % wrong.
The URL comes from ``RECAUDO_BENCH_DATABASE_URL`` or ``RECAUDO_TEST_DATABASE_URL``.

    .venv/bin/python bench/reconcile.py [--invoices 1000000] [--customers 200000] [--lines 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-reconcile"
TODAY = date(2026, 12, 9)
FEE_TOLERANCE = 1_500  # 15.00 MXN
BANK = {
    "bank_name": "BBVA México",
    "account_holder": "Bench Conciliación SA de CV",
    "account_number": "012180001234567897",
    "reference_scheme": "numeric_check",
    "reference_prefix": "",
}
WORDS_A = (
    "Comercializadora Distribuidora Constructora Ferretería Abarrotes Farmacia Papelería "
    "Refaccionaria Tlapalería Panadería Carnicería Mueblería Vidriería Lavandería Imprenta "
    "Transportes Servicios Grupo Industrias Importadora Exportadora Consultoría Clínica Taller "
    "Hotel Restaurante Cafetería Librería Joyería Óptica Veterinaria Agencia Inmobiliaria "
    "Cementera Editorial Laboratorio Academia Estética Tortillería Purificadora Maderería "
    "Plásticos Textiles Calzado Aceros Pinturas Eléctrica Plomería Llantera Autopartes Dulcería "
    "Florería Mercería Juguetería Zapatería Tapicería Herrería Cerrajería Cristalería Bodega"
).split()
WORDS_B = (
    "Álamo Roble Encino Cedro Pino Nogal Fresno Olmo Sauce Ciprés Laurel Olivo Ceiba Caoba "
    "Jacaranda Palma Mezquite Huizache Ahuehuete Sabino Aguacate Naranjo Limonero Manzano "
    "Durazno Ciruelo Granado Guayabo Mango Tamarindo Zapote Mamey Capulín Tejocote Nopal Maguey "
    "Agave Girasol Dalia Azucena Gardenia Orquídea Magnolia Camelia Violeta Margarita Amapola "
    "Cempasúchil Bugambilia Tulipán Jazmín Lirio Hortensia Begonia Geranio Clavel Gladiola Rosal "
    "Acacia Eucalipto"
).split()
WORDS_C = (
    "Norte Sur Oriente Poniente Centro Bajío Golfo Pacífico Sierra Valle Costa Altiplano "
    "Huasteca Mixteca Laguna Istmo Península Frontera Occidente Meseta Cañada Ribera Llanura "
    "Montaña Desierto Selva Bosque Pradera Cumbre Cerro Barranca Río Lago Bahía Puerto Isla "
    "Cabo Playa Arroyo Manantial Cascada Volcán Estrella Luna Sol Aurora Horizonte Alba Ocaso "
    "Brisa Viento Nube Lluvia Trueno Relámpago Rocío Niebla Escarcha Granizo Ventisca"
).split()
assert len(set(WORDS_A)) == len(set(WORDS_B)) == len(set(WORDS_C)) == 60
FORMS = ("SA de CV", "S.A. de C.V.", "SAPI de CV", "S de RL de CV", "", "")


def database_url() -> str:
    url = os.environ.get("RECAUDO_BENCH_DATABASE_URL") or os.environ.get(
        "RECAUDO_TEST_DATABASE_URL", ""
    )
    if not url.startswith(("postgresql://", "postgres://")):
        sys.exit(
            "set RECAUDO_BENCH_DATABASE_URL (or RECAUDO_TEST_DATABASE_URL) to a PostgreSQL URL"
        )
    return url


def customer_name(k: int) -> str:
    """Customer ``k``'s (0-based) name: unique for k < 60 × 60 × 60."""
    a, b, c = WORDS_A[k % 60], WORDS_B[(k // 60) % 60], WORDS_C[(k // 3600) % 60]
    form = FORMS[k % len(FORMS)]
    return f"{a} {b} del {c} {form}".strip()


@dataclass
class Inv:
    id: int
    customer: int
    number: str
    balance: int
    due: date


def invoice_rows(count: int, customers: int, seed: int) -> list[tuple[int, int, int, int]]:
    """(customer index, total, applied, due offset) per invoice, invoice g = index + 1."""
    rng = random.Random(seed)
    rows = []
    for g in range(count):
        if g % 5 == 0:
            total = rng.choice((500, 750, 1_000, 1_500, 2_000, 2_500, 5_000)) * 100
        else:
            total = rng.randrange(100_00, 150_000_00)
        applied = total // 2 if g % 10 == 3 else 0
        rows.append((g % customers, total, applied, rng.randrange(-100, 20)))
    return rows


async def reuse(url: str, customers: int, invoices: int, seed: int) -> tuple[Any, float, Any]:
    """The data an earlier run with the same sizes and seed loaded (``--reuse``)."""
    import asyncpg

    from recaudo.core import db
    from recaudo.tenants.models import Tenant

    db.configure(url)
    await db.start_pool()
    tenant = await Tenant.objects().where(Tenant.slug == SLUG).first()
    if tenant is None:
        return await prepare(url, customers, invoices, seed)
    conn = await asyncpg.connect(url)
    try:
        tid = int(tenant.id)
        first_customer = await conn.fetchval("SELECT min(id) FROM customer WHERE tenant=$1", tid)
        first_invoice = await conn.fetchval("SELECT min(id) FROM invoice WHERE tenant=$1", tid)
        count = await conn.fetchval("SELECT count(*) FROM invoice WHERE tenant=$1", tid)
    finally:
        await conn.close()
    if count != invoices:
        sys.exit(f"--reuse: the database holds {count:,} invoices, not {invoices:,}")
    rows = invoice_rows(invoices, customers, seed)
    book = [
        Inv(first_invoice + g, first_customer + c, f"F{1_000_001 + g}", total - applied,
            TODAY + timedelta(days=due))
        for g, (c, total, applied, due) in enumerate(rows)
    ]  # fmt: skip
    return tenant, 0.0, (first_customer, book)


async def prepare(url: str, customers: int, invoices: int, seed: int) -> tuple[Any, float, Any]:
    import asyncpg

    from recaudo.core import db
    from recaudo.tenants.plugin_config import set_plugin
    from recaudo.tenants.scoped import TenantScope
    from recaudo.tenants.service import NewTenant, create_tenant

    conn = await asyncpg.connect(url)
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await conn.close()
    db.configure(url)
    await db.start_pool()
    with contextlib.redirect_stdout(io.StringIO()):
        await db.migrate()
    tenant = await create_tenant(
        NewTenant(SLUG, "Bench Conciliación", "MX", "MXN", "es_MX", "America/Mexico_City")
    )
    tid = int(tenant.id)
    await set_plugin(TenantScope(tid), "banktransfer", enabled=True, settings=dict(BANK))
    started = time.perf_counter()
    stamp = datetime.now(UTC)
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "customer",
            records=[
                (
                    tid,
                    f"C{k + 1:06d}",
                    customer_name(k),
                    "",
                    "MX",
                    "",
                    "",
                    "email",
                    "",
                    "{}",
                    "",
                    stamp,
                    "",
                    "",
                    "",
                )
                for k in range(customers)
            ],
            columns=[
                "tenant",
                "number",
                "name",
                "tax_id",
                "tax_country",
                "email",
                "phone",
                "preferred_channel",
                "locale",
                "consents",
                "payment_reference",
                "created_at",
                "segment",
                "timezone",
                "tags",
            ],
        )
        first_customer = await conn.fetchval("SELECT min(id) FROM customer WHERE tenant=$1", tid)
        rows = invoice_rows(invoices, customers, seed)
        await conn.copy_records_to_table(
            "invoice",
            records=[
                (
                    tid,
                    first_customer + c,
                    f"F{1_000_001 + g}",
                    TODAY - timedelta(days=30),
                    TODAY + timedelta(days=due),
                    "MXN",
                    total,
                    0,
                    total,
                    applied,
                    "partially_paid" if applied else "open",
                    "",
                    None,
                    False,
                    None,
                    "",
                    "",
                    "",
                    "",
                    stamp,
                    stamp,
                )
                for g, (c, total, applied, due) in enumerate(rows)
            ],
            columns=[
                "tenant",
                "customer",
                "number",
                "issue_date",
                "due_date",
                "currency",
                "subtotal",
                "tax",
                "total",
                "amount_applied",
                "status",
                "description",
                "external_id",
                "disputed",
                "plan_id",
                "einvoice_backend",
                "einvoice_uuid",
                "einvoice_status",
                "einvoice_xml",
                "created_at",
                "updated_at",
            ],
        )
        first_invoice = await conn.fetchval("SELECT min(id) FROM invoice WHERE tenant=$1", tid)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    book = [
        Inv(first_invoice + g, first_customer + c, f"F{1_000_001 + g}", total - applied,
            TODAY + timedelta(days=due))
        for g, (c, total, applied, due) in enumerate(rows)
    ]  # fmt: skip
    return tenant, time.perf_counter() - started, (first_customer, book)


# --- the statement and its truth ------------------------------------------------------------------


@dataclass
class Truth:
    kind: str
    matchable: bool
    customer: int | None = None
    invoices: frozenset[int] = frozenset()
    balances: tuple[int, ...] = ()  # what the line pays of each (whole balances)


def bal(invoices: list[Inv]) -> tuple[int, ...]:
    return tuple(i.balance for i in invoices)


def typo(rng: random.Random, digits: str) -> str:
    """One real typing mistake: two neighbours swapped, a digit dropped or doubled."""
    k = rng.randrange(1, len(digits) - 1)
    how = rng.randrange(3)
    if how == 0 and digits[k] != digits[k + 1]:
        return digits[:k] + digits[k + 1] + digits[k] + digits[k + 2 :]
    if how == 1:
        return digits[:k] + digits[k + 1 :]
    return digits[:k] + digits[k] + digits[k:]


def written(rng: random.Random, number: str) -> str:
    digits = number[1:]
    return rng.choice(
        (number, f"F-{digits}", f"f {digits}", f"FACT {number}", f"F{digits}".replace("0", "O"))
    )


def payer(rng: random.Random, name: str) -> str:
    """How a bank spells a customer's name: upper case, no accents, forms cut or kept."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    return rng.choice((plain, plain.replace(" DEL ", " "), plain.split(" SA")[0], plain[:40]))


def statement(
    rng: random.Random, lines: int, customers: int, first_customer: int, book: list[Inv]
) -> tuple[list[Any], list[Truth]]:
    from recaudo.api import StatementLine
    from recaudo.plugins.banktransfer import payment_reference

    by_customer: dict[int, list[Inv]] = {}
    for inv in book:
        by_customer.setdefault(inv.customer, []).append(inv)
    for mine in by_customer.values():
        mine.sort(key=lambda i: (i.due, i.id))
    pool = list(range(first_customer, first_customer + customers))
    rng.shuffle(pool)
    fresh = iter(pool)
    shares = (
        ("reference", 0.22), ("reference_typo", 0.02), ("number", 0.24), ("number_typo", 0.08),
        ("several_numbers", 0.06), ("two_lines", 0.06), ("fee", 0.05), ("name_amount", 0.05),
        ("account", 0.04), ("duplicate", 0.03), ("nobody", 0.13), ("debit", 0.02),
    )  # fmt: skip
    kinds = [k for k, share in shares for _ in range(round(share * lines))]
    rng.shuffle(kinds)
    out: list[Any] = []
    truth: list[Truth] = []
    paid_before: list[tuple[Any, Truth]] = []
    accounts: list[tuple[int, str]] = []

    def add(truth_: Truth, amount: int, due: date, **kw: Any) -> None:
        booked = due + timedelta(days=rng.randrange(-10, 11))
        out.append(
            StatementLine(
                key=f"L{len(out) + 1}", booked_on=booked, amount=amount, currency="MXN", **kw
            )
        )
        truth.append(truth_)

    for kind in kinds:
        if kind == "debit":
            add(Truth(kind, False), -rng.randrange(1_000, 500_000), TODAY, description="COMISION")
            continue
        if kind == "nobody":
            amount = rng.randrange(100_00, 90_000_00) + 37
            add(Truth(kind, False), amount, TODAY, description=f"DEPOSITO {rng.randrange(10**8)}",
                payer_name="PERSONA DESCONOCIDA " + str(rng.randrange(999)))  # fmt: skip
            continue
        if kind == "duplicate" and paid_before:
            line, _first = rng.choice(paid_before)
            add(Truth(kind, False), line.amount, line.booked_on, description=line.description)
            continue
        cid = next(fresh)
        mine = by_customer.get(cid, [])
        if not mine:
            continue
        name = customer_name(cid - first_customer)
        one = mine[0]
        if kind in ("reference", "reference_typo"):
            ref = payment_reference(BANK, cid)
            n = 1 if rng.random() < 0.6 else min(len(mine), 2)
            chosen = mine[:n]
            amount = sum(i.balance for i in chosen)
            if kind == "reference_typo":
                ref = typo(rng, ref)
            t = Truth(kind, True, cid, frozenset(i.id for i in chosen), bal(chosen))
            add(t, amount, one.due, reference=ref, description=f"SPEI PAGO REF {ref}")
            if kind == "reference" and rng.random() < 0.5:
                clabe = f"0121800{cid:010d}"
                accounts.append((cid, clabe))
                out[-1] = type(out[-1])(**{**out[-1].__dict__, "payer_account": clabe})
        elif kind in ("number", "fee"):
            fee = rng.randrange(1, FEE_TOLERANCE + 1) if kind == "fee" else 0
            t = Truth(kind, True, cid, frozenset({one.id}), bal([one]))
            add(t, one.balance - fee, one.due, description=f"PAGO {written(rng, one.number)}")
            if kind == "number":
                paid_before.append((out[-1], t))
        elif kind == "number_typo":
            wrong = "F" + typo(rng, one.number[1:])
            t = Truth(kind, True, cid, frozenset({one.id}), bal([one]))
            add(t, one.balance, one.due, description=f"PAGO FACTURA {wrong}")
        elif kind == "several_numbers":
            chosen = mine[: min(len(mine), rng.choice((2, 3)))]
            text = " ".join(written(rng, i.number) for i in chosen)
            t = Truth(kind, True, cid, frozenset(i.id for i in chosen), bal(chosen))
            add(t, sum(i.balance for i in chosen), one.due, description=f"PAGO {text}")
        elif kind == "two_lines":
            part = one.balance * 2 // 5
            t = Truth(kind, True, cid, frozenset({one.id}))
            add(t, part, one.due, description=f"ABONO {written(rng, one.number)}")
            add(t, one.balance - part, one.due, description=f"RESTO {one.number}")
        elif kind == "name_amount":
            plain = [i for i in mine if i.balance % 5_000]  # not a round (shared) amount
            if not plain:
                continue
            t = Truth(kind, True, cid, frozenset({plain[0].id}), bal(plain[:1]))
            add(t, plain[0].balance, plain[0].due, description="TRANSFERENCIA",
                payer_name=payer(rng, name))  # fmt: skip
        elif kind == "account" and accounts:
            known, clabe = accounts.pop(rng.randrange(len(accounts)))
            theirs = by_customer[known]
            # an invoice the reference line did not pay, whose amount no other of theirs has
            left = [i for i in theirs[2:] if [j.balance for j in theirs].count(i.balance) == 1]
            if not left:
                continue
            t = Truth(kind, True, known, frozenset({left[-1].id}), bal(left[-1:]))
            add(t, left[-1].balance, left[-1].due, description="TRANSFERENCIA",
                payer_account=clabe)  # fmt: skip
    return out, truth


# --- measuring ----------------------------------------------------------------------------------


def baseline(lines: list[Any], book: Any) -> list[tuple[int, tuple[tuple[int, int], ...]] | None]:
    """Exact invoice number + exact amount, nothing else: what a spreadsheet lookup does."""
    from recaudo.core.reconciliation.book import number_key

    out: list[tuple[int, tuple[tuple[int, int], ...]] | None] = []
    for line in lines:
        found = None
        if line.amount > 0:
            for word in line.description.split():
                items = book.invoices_numbered(number_key(word))
                if len(items) == 1 and items[0].balance == line.amount:
                    found = (items[0].customer_id, ((items[0].invoice_id, line.amount),))
                    book.take(found[1])
                    break
        out.append(found)
    return out


def score(
    answers: list[tuple[int, tuple[tuple[int, int], ...]] | None], truth: list[Truth]
) -> dict[str, Any]:
    matchable = sum(t.matchable for t in truth)
    auto = wrong = 0
    per_kind: dict[str, Counter[str]] = {}
    for answer, t in zip(answers, truth, strict=True):
        kind = per_kind.setdefault(t.kind, Counter())
        kind["lines"] += 1
        if answer is None:
            kind["not applied"] += 1
            continue
        customer, allocations = answer
        paid = {i for i, _ in allocations}
        if not t.matchable or customer != t.customer:
            wrong += 1
            kind["WRONG"] += 1
        elif paid and paid <= t.invoices:
            auto += 1
            kind["right"] += 1
        elif t.balances and sum(a for _, a in allocations) == sum(t.balances):
            # whole invoices of the right customer adding up to the same total (one of 2,500
            # where the truth says 1,000 + 1,500): nothing in the line tells them apart
            auto += 1
            kind["right customer, same total"] += 1
        else:
            wrong += 1
            kind["WRONG"] += 1
    return {"matchable": matchable, "auto": auto, "wrong": wrong, "per_kind": per_kind}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(
    url: str, customers: int, invoices: int, lines_n: int, seed: int, again: bool
) -> None:
    from recaudo.core import db
    from recaudo.core.platform.host import PluginHost, set_host
    from recaudo.core.reconciliation.book import load_book
    from recaudo.core.reconciliation.engine import MatchSettings, load_match_rules, match_lines
    from recaudo.tenants.scoped import TenantScope
    from recaudo.tenants.service import tenant_info

    host = PluginHost()
    host.load_entry_points()
    set_host(host)
    load = reuse if again else prepare
    tenant, loaded, (first_customer, model) = await load(url, customers, invoices, seed)
    print(f"loaded {customers:,} customers and {invoices:,} open invoices in {loaded:.1f} s")
    rng = random.Random(seed + 1)
    lines, truth = statement(rng, lines_n, customers, first_customer, model)
    del model
    print(f"statement: {len(lines):,} lines, {sum(t.matchable for t in truth):,} matchable")
    scope = TenantScope(int(tenant.id))
    settings = MatchSettings(fee_tolerance=FEE_TOLERANCE)
    info = tenant_info(tenant)

    before = rss_mb()
    cpu = time.process_time()
    started = time.perf_counter()
    book = await load_book(scope, "MXN", fee_tolerance=FEE_TOLERANCE)
    book_s = time.perf_counter() - started
    rules = await load_match_rules(info, settings.rules)
    rules_s = time.perf_counter() - started - book_s
    decisions = match_lines(lines, book, rules, settings)
    match_s = time.perf_counter() - started - book_s - rules_s
    total_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu
    grown = rss_mb() - before

    base_started = time.perf_counter()
    base_book = await load_book(scope, "MXN")
    base_answers = baseline(lines, base_book)
    base_s = time.perf_counter() - base_started
    del base_book

    answers = [
        (d.candidates[0].customer_id, d.candidates[0].allocations)
        if d.outcome == "matched"
        else None
        for d in decisions
    ]
    mine, base = score(answers, truth), score(base_answers, truth)
    outcomes = Counter(d.outcome for d in decisions)
    n = len(lines)
    print(
        f"load_book {book_s:6.2f} s ({len(book):,} open invoices, peak RSS +{grown:,.0f} MB)  "
        f"rules {rules_s:4.2f} s  match_lines {match_s:6.2f} s"
    )
    print(
        f"engine    {total_s:6.2f} s  {n / total_s:9,.0f} lines/s  (this process's CPU "
        f"{cpu_s:.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)  "
        f"outcomes {dict(outcomes)}"
    )
    print(f"baseline  {base_s:6.2f} s  {n / base_s:9,.0f} lines/s  (exact number + amount only)")
    for label, result, seconds in (("engine", mine, total_s), ("baseline", base, base_s)):
        auto = result["auto"] / max(1, result["matchable"])
        wrong = result["wrong"] / n
        print(
            f"{label:9s} automatic {auto:7.2%} of matchable lines   wrong {wrong:7.3%} of lines "
            f"({result['wrong']})   time x{seconds / base_s:4.1f} baseline"
        )
    print("per kind (engine):")
    for kind, counts in sorted(mine["per_kind"].items()):
        print(f"  {kind:16s} {dict(counts)}")
    ok = total_s < 20 and mine["auto"] / max(1, mine["matchable"]) >= 0.95
    ok = ok and mine["wrong"] / n <= 0.001
    print("targets: < 20 s, >= 95 % automatic, <= 0.1 % wrong:", "OK" if ok else "MISSED")
    await db.close_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the data of an earlier run (same sizes, seed)"
    )
    ns = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    asyncio.run(run(database_url(), ns.customers, ns.invoices, ns.lines, ns.seed, ns.reuse))


if __name__ == "__main__":
    main()
