"""Bad input is a clear error naming the field, and nothing is stored."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum.co import nit
from stdnum.mx import rfc

from recaudo.core.billing.customers import CustomerError, NewCustomer, create_customer
from recaudo.core.billing.invoices import InvoiceError, NewInvoice, NewLine, create_invoice
from recaudo.core.billing.taxids import TaxIdError, validate_tax_id
from recaudo.core.tables import Customer, Invoice
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import NewTenant, TenantError, create_tenant, validate_new_tenant
from tests.conftest import make_tenant

VALID_RFC = "GODE561231GR" + rfc.calc_check_digit("GODE561231GR")
VALID_NIT = "900123456" + nit.calc_check_digit("900123456")


def test_tax_ids_are_validated_per_country() -> None:
    assert validate_tax_id("MX", VALID_RFC.lower()) == VALID_RFC
    assert validate_tax_id("CO", VALID_NIT) == VALID_NIT
    assert validate_tax_id("AR", "20-26756539-3") == "20267565393"
    assert validate_tax_id("BR", "390.533.447-05") == "39053344705"  # a CPF
    # Like SAT's own systems (and python-stdnum's default), an RFC's check digit is not enforced:
    # some RFCs SAT issued have a "wrong" one. Structure and the embedded date are.
    with pytest.raises(TaxIdError, match="RFC"):
        validate_tax_id("MX", "GODE561331GR8")  # month 13
    with pytest.raises(TaxIdError, match="RFC"):
        validate_tax_id("MX", "12345")
    with pytest.raises(TaxIdError, match="NIT"):
        validate_tax_id("CO", "9001234560" if not VALID_NIT.endswith("0") else "9001234561")
    with pytest.raises(TaxIdError, match="CPF/CNPJ"):
        validate_tax_id("BR", "123")


@pytest.mark.parametrize(
    ("field", "tenant"),
    [
        ("slug", NewTenant("No Valid!", "X", "MX", "MXN")),
        ("slug", NewTenant("health", "X", "MX", "MXN")),
        ("country", NewTenant("ok", "X", "ZZ", "MXN")),
        ("currency", NewTenant("ok", "X", "MX", "PESOS")),
        ("locale", NewTenant("ok", "X", "MX", "MXN", "xx_YY")),
        ("timezone", NewTenant("ok", "X", "MX", "MXN", "es_MX", "Mars/Olympus")),
        ("name", NewTenant("ok", " ", "MX", "MXN")),
    ],
)
def test_tenant_validation_names_the_field(field: str, tenant: NewTenant) -> None:
    with pytest.raises(TenantError, match=field):
        validate_new_tenant(tenant)


async def test_bad_customers_and_invoices_store_nothing(database: str) -> None:
    scope = TenantScope(int((await make_tenant("acme")).id))
    for data, field in (
        (NewCustomer("C1", "Uno", tax_id="XXXX"), "tax_id"),
        (NewCustomer("C1", "Uno", email="no-at-sign"), "email"),
        (NewCustomer("C1", "Uno", phone="call me"), "phone"),
        (NewCustomer("", "Uno"), "number"),
    ):
        with pytest.raises(CustomerError, match=field):
            await create_customer(scope, data, "MX")
    assert await scope.count(Customer) == 0
    customer = await create_customer(scope, NewCustomer("C1", "Uno", tax_id=VALID_RFC), "MX")
    with pytest.raises(CustomerError, match="already used"):
        await create_customer(scope, NewCustomer("C1", "Otro"), "MX")
    line = (NewLine("x", 1, 100),)
    for data, field in (
        (
            NewInvoice(int(customer.id), "F1", date(2026, 2, 1), date(2026, 1, 1), "MXN", line),
            "due_date",
        ),
        (
            NewInvoice(int(customer.id), "F1", date(2026, 1, 1), date(2026, 2, 1), "XXQ", line),
            "currency",
        ),
        (
            NewInvoice(int(customer.id), "F1", date(2026, 1, 1), date(2026, 2, 1), "MXN", ()),
            "lines",
        ),
        (
            NewInvoice(
                int(customer.id),
                "F1",
                date(2026, 1, 1),
                date(2026, 2, 1),
                "MXN",
                (NewLine("x", 0, 100),),
            ),
            "quantity",
        ),
        (NewInvoice(999_999, "F1", date(2026, 1, 1), date(2026, 2, 1), "MXN", line), "customer"),
    ):
        with pytest.raises(InvoiceError, match=field):
            await create_invoice(scope, data)
    assert await scope.count(Invoice) == 0


async def test_tenant_slugs_are_unique(database: str) -> None:
    await create_tenant(NewTenant("acme", "Acme", "MX", "MXN"))
    with pytest.raises(TenantError, match="already taken"):
        await create_tenant(NewTenant("acme", "Otra", "CO", "COP", "es_CO", "America/Bogota"))
