"""The cached statement is never stale: every write that changes a statement changes its stamp.

The statement's live part is cached per process under the customer's *account stamp*, a count of
changes kept by database triggers. These tests make changes the way the product does (ledger,
plans, disputes, credit) and the way a person with SQL access or another process would, and check
that the page a customer sees follows each one at once.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date

import pytest

from recaudo.core import db
from recaudo.core.billing.account import account_stamp
from recaudo.core.casework.claims import open_dispute
from recaudo.core.collections.plans import accept_plan, policy_of
from recaudo.core.payments.ledger import apply_credit, record_staff_payment
from recaudo.core.tables import AccountChange, CreditEntry, Invoice
from recaudo.workers.scheduler import COMPACT_ABOVE, compact_account_changes
from tests.conftest import PG_URL
from tests.portal_support import Env, login, open_env


@pytest.fixture
async def env(database: str, host: object) -> Env:
    e = await open_env(database)
    yield e
    await e.client.aclose()


def balance(html: str) -> str:
    match = re.search(r'id="balance-due">([^<]+)<', html)
    assert match, "no balance on the page"
    return match.group(1)


async def test_each_kind_of_write_moves_the_stamp_of_that_customer_only(env: Env) -> None:
    scope, today = env.shop.scope, date.today()
    ana, luis = (int(c.id) for c in env.shop.customers[:2])
    ana_invoices = env.invoice_ids(0)

    async def moved(action: object) -> bool:
        before, other = await account_stamp(scope, ana), await account_stamp(scope, luis)
        await action  # type: ignore[misc]
        assert await account_stamp(scope, luis) == other, "another customer's stamp moved"
        return await account_stamp(scope, ana) > before

    assert await moved(
        record_staff_payment(
            scope,
            customer_id=ana,
            currency="MXN",
            amount=100_000,
            method="transfer",
            reference="T-1",
            invoice_ids=[ana_invoices[0]],
        )
    )
    assert await moved(open_dispute(scope, ana, ana_invoices[1], "wrong_amount", "No es mío"))
    assert await moved(
        scope.add(CreditEntry(customer=ana, currency="MXN", amount=10_000, reason="goodwill"))
    )
    assert await moved(apply_credit(scope, ana, ana_invoices[2], 10_000))
    assert await moved(
        accept_plan(
            scope,
            ana,
            today,
            policy_of(env.shop.tenant.policy),
            installments=2,
            down_payment=5_000,
            reason="lost_income",
        )
    )
    assert await moved(
        scope.update(Invoice, {Invoice.description: "ajuste"}).where(Invoice.id == ana_invoices[2])
    )


async def test_statement_follows_a_change_made_outside_this_process(env: Env) -> None:
    """Another process, or a person fixing data in SQL, changes an invoice: the page follows."""
    await login(env.client, env.shop, env.customer)
    url = env.shop.prefix + "/estado-de-cuenta"
    first = await env.client.get(url)
    assert balance(first.text) == "$1,750.00"
    assert balance((await env.client.get(url)).text) == "$1,750.00"  # now served from the cache

    invoice_id = env.invoice_ids()[0]
    await db.engine().run_ddl(  # plain SQL, no application code in between
        f"UPDATE invoice SET amount_applied = 100000, status = 'paid' WHERE id = {invoice_id}"
    )
    assert balance((await env.client.get(url)).text) == "$750.00"
    # The htmx poll with the old version gets the new part instead of "204 unchanged".
    version = re.search(r"estado-de-cuenta\?v=(\w+)", first.text).group(1)  # type: ignore[union-attr]
    poll = await env.client.get(url + f"?v={version}", headers={"hx-request": "true"})
    assert poll.status_code == 200 and "$750.00" in poll.text


async def test_each_language_gets_its_own_rendering(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    url = env.shop.prefix + "/estado-de-cuenta"
    spanish = await env.client.get(url)
    english = await env.client.get(url + "?lang=en")
    assert "días de atraso" in spanish.text
    assert "days overdue" in english.text and "días de atraso" not in english.text


async def test_compaction_keeps_every_stamp(env: Env) -> None:
    scope = env.shop.scope
    ana, luis = (int(c.id) for c in env.shop.customers[:2])
    invoice_id = env.invoice_ids(0)[0]
    for i in range(COMPACT_ABOVE + 5):
        await scope.update(Invoice, {Invoice.description: f"v{i}"}).where(Invoice.id == invoice_id)
    before = {c: await account_stamp(scope, c) for c in (ana, luis)}
    assert await compact_account_changes() == 1  # only Ana's account had that many rows
    assert {c: await account_stamp(scope, c) for c in (ana, luis)} == before
    rows = await scope.count(AccountChange).where(AccountChange.customer == ana)
    assert rows == 1
    await scope.add(CreditEntry(customer=ana, currency="MXN", amount=1, reason="test"))
    assert await account_stamp(scope, ana) == before[ana] + 1


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured (set RECAUDO_TEST_DATABASE_URL)")
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
async def test_stamp_changes_when_transactions_commit_out_of_order(database: str) -> None:
    """The transaction that started writing first commits last: the stamp must still move.

    (A newest-row-id stamp would not: the late row's id is lower than one already seen.)
    """
    import asyncpg

    from tests.portal_support import make_shop

    shop = await make_shop()
    customer = int(shop.customers[0].id)
    first, second = shop.invoices[customer][:2]
    a = await asyncpg.connect(database)
    b = await asyncpg.connect(database)
    try:
        ta, tb = a.transaction(), b.transaction()
        await ta.start()
        await tb.start()
        await a.execute("UPDATE invoice SET description = 'a' WHERE id = $1", first)
        await b.execute("UPDATE invoice SET description = 'b' WHERE id = $1", second)
        await tb.commit()
        seen = await account_stamp(shop.scope, customer)
        await ta.commit()
        assert await account_stamp(shop.scope, customer) > seen
    finally:
        await asyncio.gather(a.close(), b.close())
