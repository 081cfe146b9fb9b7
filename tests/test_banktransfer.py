"""Bank transfer: stable checked references and instructions that never mark money received."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recaudo.core.common.money import Money
from recaudo.core.payments.method import Checkout, PaymentMethod
from recaudo.core.platform.context import PluginContext, build_context
from recaudo.core.platform.values import PluginSettingsSchema, TenantInfo
from recaudo.plugins import banktransfer as plugin
from recaudo.plugins.banktransfer import (
    BankReferenceError,
    BankTransferMethod,
    check_reference,
    customer_from_reference,
    damm_digit,
    payment_reference,
    settings_errors,
    valid_clabe,
)

CLABE = "032180000118359719"  # a well-known valid CLABE (check digit 9)
BANK: dict[str, Any] = {
    "bank_name": "BBVA México",
    "account_holder": "Acme Cobranza S.A. de C.V.",
    "account_number": CLABE,
    "reference_scheme": "numeric_check",
    "reference_prefix": "12",
}
SPEI = {**BANK, "reference_scheme": "clabe_ref", "reference_prefix": "9"}

schemes = st.sampled_from([BANK, SPEI, {**BANK, "reference_prefix": ""}])
customers = st.integers(min_value=0, max_value=99_999)


def test_hooks_offer_the_method_and_its_settings() -> None:
    [method] = plugin.recaudo_payment_methods()
    assert isinstance(method, BankTransferMethod) and isinstance(method, PaymentMethod)
    assert method.name == "banktransfer" and method.label == "Transferencia o depósito bancario"
    schema = plugin.recaudo_settings_schema()
    assert isinstance(schema, PluginSettingsSchema) and schema.plugin == "banktransfer"
    fields = {f.name: f for f in schema.fields}
    assert {"bank_name", "account_holder", "account_number", "reference_prefix"} <= set(fields)
    assert fields["reference_scheme"].choices == ("clabe_ref", "numeric_check")


# --- references -----------------------------------------------------------------------------


def test_known_references() -> None:
    assert payment_reference({}, 42) == "0000427"
    assert payment_reference(BANK, 42) == "120000426"
    assert payment_reference(SPEI, 42) == "9000420"
    # Damm's published example: 572 → check digit 4.
    assert damm_digit("572") == "4" and check_reference("5724")


@given(tenant=schemes, customer=customers)
def test_reference_is_stable_valid_and_round_trips(tenant: dict[str, Any], customer: int) -> None:
    ref = payment_reference(tenant, customer)
    assert ref == payment_reference(tenant, str(customer)) == payment_reference(tenant, customer)
    assert ref.startswith(tenant["reference_prefix"])
    assert check_reference(ref)
    assert customer_from_reference(tenant, ref) == customer


def test_spei_references_have_exactly_seven_digits() -> None:
    assert {len(payment_reference(SPEI, n)) for n in (0, 7, 99_999)} == {7}
    with pytest.raises(BankReferenceError, match="7-digit"):
        payment_reference(SPEI, 100_000)  # with a one-digit prefix only five customer digits fit


@given(a=customers, b=customers, tenant=schemes)
def test_different_customers_never_share_a_reference(
    a: int, b: int, tenant: dict[str, Any]
) -> None:
    if a != b:
        assert payment_reference(tenant, a) != payment_reference(tenant, b)


@given(tenant=schemes, customer=customers, data=st.data())
def test_any_single_digit_typo_is_detected(
    tenant: dict[str, Any], customer: int, data: st.DataObject
) -> None:
    ref = payment_reference(tenant, customer)
    position = data.draw(st.integers(0, len(ref) - 1), label="position")
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != ref[position]]))
    typo = ref[:position] + wrong + ref[position + 1 :]
    assert not check_reference(typo)
    assert customer_from_reference(tenant, typo) is None


@given(tenant=schemes, customer=customers, data=st.data())
def test_any_adjacent_transposition_is_detected(
    tenant: dict[str, Any], customer: int, data: st.DataObject
) -> None:
    ref = payment_reference(tenant, customer)
    swaps = [i for i in range(len(ref) - 1) if ref[i] != ref[i + 1]]
    if not swaps:
        return
    i = data.draw(st.sampled_from(swaps), label="position")
    swapped = ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :]
    assert not check_reference(swapped)


@settings(max_examples=300)
@given(body=st.text(alphabet="0123456789", min_size=1, max_size=12), data=st.data())
def test_check_digit_catches_09_90_which_luhn_misses(body: str, data: st.DataObject) -> None:
    ref = body + damm_digit(body)
    i = data.draw(st.integers(0, len(ref) - 2))
    if ref[i] != ref[i + 1]:
        assert not check_reference(ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :])


def test_every_two_digit_swap_and_substitution_is_caught_exhaustively() -> None:
    for a in range(10):
        for b in range(10):
            ref = f"{a}{b}" + damm_digit(f"{a}{b}")
            assert check_reference(ref)
            if a != b:
                assert not check_reference(f"{b}{a}" + ref[2])  # e.g. 09 ↔ 90, Luhn's blind spot
            for wrong in set("0123456789") - {ref[2]}:
                assert not check_reference(ref[:2] + wrong)


def test_people_may_type_spaces_and_hyphens() -> None:
    ref = payment_reference(BANK, 31337)
    assert check_reference(f"{ref[:3]} {ref[3:6]}-{ref[6:]}")


@pytest.mark.parametrize("bad", ["", "7", "12a4", "１２３", None])
def test_garbage_is_not_a_reference(bad: str | None) -> None:
    assert not check_reference(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("customer", ["C-0042", "abc", True, "4 2"])
def test_non_numeric_customer_identities_are_refused(customer: Any) -> None:
    with pytest.raises(BankReferenceError):
        payment_reference(BANK, customer)


def test_references_of_another_tenant_are_not_ours() -> None:
    other = {**BANK, "reference_prefix": "34"}
    assert customer_from_reference(other, payment_reference(BANK, 42)) is None
    assert customer_from_reference(BANK, payment_reference(SPEI, 42)) is None


def test_clabe_check_digit() -> None:
    assert valid_clabe(CLABE) and valid_clabe("0321 8000 0118 3597 19")
    assert not valid_clabe(CLABE[:-1] + "0")
    assert not valid_clabe("12345")


def test_settings_errors_name_the_problem() -> None:
    assert settings_errors(BANK) == []
    errors = settings_errors({**BANK, "bank_name": "", "account_number": CLABE[:-1] + "0"})
    assert any("Banco" in e for e in errors) and any("CLABE" in e for e in errors)
    assert settings_errors({**BANK, "reference_scheme": "roman"})
    assert settings_errors({**BANK, "reference_prefix": "AB"})


# --- checkout -------------------------------------------------------------------------------


CUSTOMER_KEYS = ("customer_id", "customer_reference")


TENANT = TenantInfo(1, "acme", "Acme", "MX", "MXN", "es_MX", "America/Mexico_City")


def context(
    settings: dict[str, Any], amount: Money | None = None
) -> tuple[PluginContext, Checkout]:
    """The plugin's context (its settings) and the checkout, as the host hands them in."""
    plugin_settings = {k: v for k, v in settings.items() if k not in CUSTOMER_KEYS}
    return build_context(TENANT, "banktransfer", plugin_settings), Checkout(
        payment_id=501,
        idempotency_key="pay-501",
        amount=amount or Money.parse("1234.50", "MXN"),
        description="Facturas F-1, F-2",
        customer_name="Ana López",
        customer_email="ana@example.com",
        return_url="https://acme.test/pagos/501",
        notification_url="https://acme.test/hooks/banktransfer/acme",
        customer_id=int(settings.get("customer_id") or 0),
        customer_reference=str(settings.get("customer_reference") or ""),
    )


async def test_instructions_carry_bank_details_reference_and_amount() -> None:
    result = await BankTransferMethod().start_checkout(*context({**BANK, "customer_id": 42}))

    assert result.kind == "instructions"
    info = result.instructions
    assert info["bank"] == "BBVA México"
    assert info["holder"] == "Acme Cobranza S.A. de C.V."
    assert info["account"] == CLABE and info["account_type"] == "clabe"
    assert info["reference"] == payment_reference(BANK, 42) and check_reference(info["reference"])
    assert info["amount"] == "1234.50" and info["currency"] == "MXN"
    assert "1,234.50" in info["amount_display"]


async def test_checkout_never_marks_the_payment_received() -> None:
    method = BankTransferMethod()
    result = await method.start_checkout(*context({**BANK, "customer_id": 42}))
    # No provider payment, no redirect, nothing approved: money is recognised by reconciliation.
    assert result.provider_payment_id is None and result.redirect_url == ""
    assert "status" not in result.instructions
    assert not any(v == "approved" for v in result.instructions.values())
    # And the method offers no channel through which an event could approve it.
    ctx = build_context(TENANT, "banktransfer", BANK)
    assert method.parse_webhook(ctx, None) == []  # type: ignore[arg-type]
    assert await method.search_by_reference(ctx, 501) == []
    assert not method.supports_refunds


async def test_the_stored_customer_reference_wins() -> None:
    settings = {**BANK, "customer_reference": "120000426", "customer_id": 7}
    result = await BankTransferMethod().start_checkout(*context(settings))
    assert result.instructions["reference"] == "120000426"


async def test_checkout_refuses_incomplete_settings_or_unknown_customer() -> None:
    method = BankTransferMethod()
    with pytest.raises(ValueError, match="not configured"):
        await method.start_checkout(*context({**BANK, "account_holder": "", "customer_id": 1}))
    with pytest.raises(ValueError, match="customer"):
        await method.start_checkout(*context(BANK))


async def test_non_mexican_accounts_are_plain_account_numbers() -> None:
    settings = {**BANK, "account_number": "0550 1234 5678", "customer_id": 3}
    result = await BankTransferMethod().start_checkout(
        *context(settings, Money.parse("150000", "COP"))
    )
    assert result.instructions["account_type"] == "account"
    assert result.instructions["account"] == "055012345678"
