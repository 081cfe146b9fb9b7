"""Mercado Pago plugin against the fake API server (no test reaches the internet)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple

import pytest
from mercadopago.errors import MPAuthenticationError
from mercadopago.http import HttpClient

from recaudo.core.common.money import Money
from recaudo.core.payments.method import (
    PAYMENT_STATUSES,
    Checkout,
    WebhookRejected,
    WebhookRequest,
)
from recaudo.core.platform.context import PluginContext, build_context
from recaudo.core.platform.values import PluginSettingsSchema, TenantInfo
from recaudo.plugins import mercadopago as plugin
from recaudo.plugins.mercadopago import (
    STATUS_TABLE,
    MercadoPagoMethod,
    UnknownProviderStatus,
    map_status,
    options_for,
)
from recaudo.plugins.mercadopago.client import BaseUrlHttpClient, idempotency_key_header
from tests.fakes.mercadopago import DEFAULT_TOKEN, FakeMercadoPago, sign

SECRET = "whsec-test-0123456789"
SETTINGS: dict[str, Any] = {
    "access_token": DEFAULT_TOKEN,
    "webhook_secret": SECRET,
    "expiration_minutes": 60,
}

pytestmark = pytest.mark.filterwarnings("ignore:notification_url is deprecated")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeMercadoPago]:
    with FakeMercadoPago() as server:
        yield server


@pytest.fixture
def method(fake: FakeMercadoPago) -> MercadoPagoMethod:
    return MercadoPagoMethod(api_base=fake.url)


COUNTRY = {"MXN": "MX", "CLP": "CL", "COP": "CO", "BRL": "BR"}


def tenant(country: str = "MX", currency: str = "MXN") -> TenantInfo:
    return TenantInfo(1, "acme", "Acme Cobranza", country, currency, "es_MX", "America/Mexico_City")


def plugin_ctx(
    settings: dict[str, Any] | None = None, country: str = "MX", currency: str = "MXN"
) -> PluginContext:
    """The plugin's context as the host builds it: the tenant and its Mercado Pago settings."""
    return build_context(
        tenant(country, currency), "mercadopago", SETTINGS if settings is None else settings
    )


class Call(NamedTuple):
    """What ``start_checkout`` receives: ``method.start_checkout(*call)``."""

    plugin: PluginContext
    checkout: Checkout


def context(
    amount: Money,
    *,
    payment_id: int = 41,
    key: str = "pay-41-attempt-1",
    option: str = "",
    items: tuple[tuple[str, Money], ...] = (),
    settings: dict[str, Any] | None = None,
) -> Call:
    checkout = Checkout(
        payment_id=payment_id,
        idempotency_key=key,
        amount=amount,
        description="Factura F-100",
        customer_name="Ana María López",
        customer_email="ana@example.com",
        return_url="https://acme.recaudo.test/pagos/41/regreso",
        notification_url="https://recaudo.test/hooks/mercadopago/acme",
        items=items,
        option=option,
    )
    return Call(plugin_ctx(settings, COUNTRY[amount.currency], amount.currency), checkout)


def _unique_id() -> int:
    return time.monotonic_ns() % 10**9


# --- plugin surface -------------------------------------------------------------------------


def test_hooks_offer_the_method_and_its_settings() -> None:
    [offered] = plugin.recaudo_payment_methods()
    assert isinstance(offered, MercadoPagoMethod)
    assert offered.name == "mercadopago" and offered.supports_refunds
    assert {"MX", "CO", "AR", "BR", "CL", "PE", "UY"} == set(offered.countries)
    assert {"oxxo", "pix", "pse", "boleto", "paycash"} <= {code for code, _ in offered.options}
    schema = plugin.recaudo_settings_schema()
    assert isinstance(schema, PluginSettingsSchema) and schema.plugin == "mercadopago"
    types = {f.name: f.type for f in schema.fields}
    assert types["access_token"] == types["webhook_secret"] == "secret"
    assert types["expiration_minutes"] == "integer" and types["sandbox"] == "boolean"


def test_http_client_rewrites_only_the_api_host(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(HttpClient, "request", lambda self, method, url, *a, **k: seen.append(url))
    client = BaseUrlHttpClient("http://127.0.0.1:9/")
    client.request("GET", "https://api.mercadopago.com/v1/payments/1")
    client.request("GET", "https://elsewhere.example/v1/payments/1")
    assert seen == ["http://127.0.0.1:9/v1/payments/1", "https://elsewhere.example/v1/payments/1"]


def test_long_idempotency_keys_are_hashed_stably() -> None:
    assert idempotency_key_header("abc") == "abc"
    long = "x" * 100
    assert len(idempotency_key_header(long)) == 64
    assert idempotency_key_header(long) == idempotency_key_header(long)


# --- checkout -------------------------------------------------------------------------------


async def test_preference_carries_references_urls_and_idempotency_key(
    fake: FakeMercadoPago, method: MercadoPagoMethod
) -> None:
    ctx = context(Money.parse("1234.50", "MXN"), payment_id=7001, key="pay-7001-a")
    result = await method.start_checkout(*ctx)

    assert result.kind == "redirect"
    assert result.redirect_url.startswith(fake.url) and "pref_id=" in result.redirect_url
    assert "sandbox" not in result.redirect_url
    [request] = [
        r
        for r in fake.requests_to("POST", "/checkout/preferences")
        if r.json["external_reference"] == "7001"
    ]
    assert request.headers["x-idempotency-key"] == "pay-7001-a"
    assert request.headers["authorization"] == f"Bearer {DEFAULT_TOKEN}"
    body = request.json
    assert body["notification_url"] == ctx.checkout.notification_url
    assert body["back_urls"] == {
        "success": ctx.checkout.return_url,
        "pending": ctx.checkout.return_url,
        "failure": ctx.checkout.return_url,
    }
    assert body["auto_return"] == "approved"
    assert body["expires"] is True and body["expiration_date_to"] > body["expiration_date_from"]
    assert body["payer"]["email"] == "ana@example.com"
    assert body["items"] == [
        {
            "id": "7001-1",
            "title": "Factura F-100",
            "quantity": 1,
            "currency_id": "MXN",
            "unit_price": 1234.5,
        }
    ]
    assert result.expires_at is not None


async def test_sandbox_setting_redirects_to_sandbox_init_point(
    method: MercadoPagoMethod,
) -> None:
    ctx = context(Money.parse("10", "MXN"), settings={**SETTINGS, "sandbox": True})
    result = await method.start_checkout(*ctx)
    assert "/sandbox/" in result.redirect_url


async def test_items_must_add_up_to_the_payment(method: MercadoPagoMethod) -> None:
    items = (("F-1", Money.parse("100", "MXN")), ("F-2", Money.parse("50.25", "MXN")))
    ctx = context(Money.parse("150.25", "MXN"), items=items)
    body = method.preference_body(*ctx)
    assert [i["unit_price"] for i in body["items"]] == [100, 50.25]
    with pytest.raises(ValueError, match="add up"):
        method.preference_body(*context(Money.parse("150.26", "MXN"), items=items))


async def test_same_idempotency_key_does_not_create_a_second_preference(
    fake: FakeMercadoPago, method: MercadoPagoMethod
) -> None:
    ctx = context(Money.parse("99", "MXN"), payment_id=7002, key="pay-7002-same")
    first = await method.start_checkout(*ctx)
    before = len(fake.preferences)
    # Same request replayed (a worker retry): same preference, nothing new at the provider.
    again = await method.start_checkout(*ctx)
    assert len(fake.preferences) == before
    assert again.redirect_url == first.redirect_url


async def test_wrong_access_token_is_an_authentication_error(method: MercadoPagoMethod) -> None:
    ctx = context(Money.parse("10", "MXN"), settings={**SETTINGS, "access_token": "APP_USR-x"})
    with pytest.raises(MPAuthenticationError):
        await method.start_checkout(*ctx)


@pytest.mark.parametrize(
    ("amount", "currency", "minor", "wire"),
    [
        ("1234.56", "MXN", 123456, 1234.56),
        ("15990", "CLP", 15990, 15990),
        ("250000.50", "COP", 25000050, 250000.5),
    ],
)
async def test_paid_preference_is_approved_with_exact_amount(
    fake: FakeMercadoPago,
    method: MercadoPagoMethod,
    amount: str,
    currency: str,
    minor: int,
    wire: float | int,
) -> None:
    payment_id = _unique_id()
    await method.start_checkout(
        *context(Money.parse(amount, currency), payment_id=payment_id, key=f"k-{payment_id}")
    )
    assert fake.preferences[fake.last_preference_id]["items"][0]["unit_price"] == wire
    paid = fake.pay_preference(fake.last_preference_id)

    status = await method.fetch_status(plugin_ctx(), str(paid["id"]))

    assert status.status == "approved"
    assert status.amount == Money(currency, minor)
    assert status.our_payment_id == payment_id
    assert status.provider_status == "approved"
    assert status.provider_status_detail == "accredited"
    assert status.amount_refunded == 0 and status.updated_at is not None


# --- status mapping -------------------------------------------------------------------------

STATUS_CASES = [
    ("pending", "pending_waiting_payment", None, "pending"),
    ("approved", "accredited", None, "approved"),
    ("authorized", "pending_capture", None, "in_process"),
    ("in_process", "pending_review_manual", None, "in_process"),
    ("in_mediation", "in_mediation", None, "in_process"),
    ("rejected", "cc_rejected_insufficient_amount", None, "rejected"),
    ("cancelled", "by_collector", None, "cancelled"),
    ("canceled", "by_payer", None, "cancelled"),
    ("cancelled", "expired", None, "expired"),
    ("expired", "expired", None, "expired"),
    ("refunded", "refunded", "500.00", "refunded"),
    ("approved", "partially_refunded", "120.25", "partially_refunded"),
    ("charged_back", "settled", None, "charged_back"),
]


def test_every_table_status_is_exercised() -> None:
    assert {case[0] for case in STATUS_CASES} == set(STATUS_TABLE)
    assert set(STATUS_TABLE.values()) <= set(PAYMENT_STATUSES)


@pytest.mark.parametrize(("status", "detail", "refunded", "ours"), STATUS_CASES)
async def test_fetch_status_maps_every_provider_status(
    fake: FakeMercadoPago,
    method: MercadoPagoMethod,
    status: str,
    detail: str,
    refunded: str | None,
    ours: str,
) -> None:
    created = fake.create_payment(amount="500.00", currency="MXN", external_reference="77")
    fake.set_status(created["id"], status, detail, amount_refunded=refunded)

    result = await method.fetch_status(plugin_ctx(), str(created["id"]))

    assert result.status == ours
    assert result.provider_status == status and result.provider_status_detail == detail
    assert result.amount == Money("MXN", 50000)
    assert result.amount_refunded == (Money.parse(refunded, "MXN").amount if refunded else 0)


def test_partial_refund_is_detected_from_the_amount_alone() -> None:
    assert map_status("approved", "accredited", amount_refunded=1) == "partially_refunded"


def test_unknown_status_is_an_error_not_a_guess() -> None:
    with pytest.raises(UnknownProviderStatus):
        map_status("teleported")


# --- webhooks -------------------------------------------------------------------------------


def test_genuine_notification_is_accepted_and_parsed(
    fake: FakeMercadoPago, method: MercadoPagoMethod
) -> None:
    note = fake.signed_webhook(123456, SECRET, request_id="req-1")
    method.verify_webhook(plugin_ctx(), note)
    [event] = method.parse_webhook(plugin_ctx(), note)
    assert event.event_key == "payment:123456:req-1"
    assert event.provider_payment_id == "123456" and event.topic == "payment"


def test_redelivery_dedupes_but_a_later_update_does_not(
    fake: FakeMercadoPago, method: MercadoPagoMethod
) -> None:
    first = fake.signed_webhook(555, SECRET, request_id="req-a")
    retry = fake.signed_webhook(555, SECRET, request_id="req-a")
    update = fake.signed_webhook(555, SECRET, request_id="req-b")
    keys = [method.parse_webhook(plugin_ctx(), n)[0].event_key for n in (first, retry, update)]
    assert keys[0] == keys[1] != keys[2]


def test_data_id_falls_back_to_the_body(fake: FakeMercadoPago, method: MercadoPagoMethod) -> None:
    note = fake.signed_webhook(987, SECRET)
    no_query = WebhookRequest(headers=note.headers, query={}, body=note.body)
    method.verify_webhook(plugin_ctx(), no_query)
    assert method.parse_webhook(plugin_ctx(), no_query)[0].provider_payment_id == "987"


def _without(note: WebhookRequest, header: str) -> WebhookRequest:
    headers = {k: v for k, v in note.headers.items() if k != header}
    return WebhookRequest(headers=headers, query=note.query, body=note.body)


@pytest.mark.parametrize(
    "case",
    [
        "forged",
        "missing_signature",
        "stale",
        "wrong_secret",
        "no_secret_configured",
        "tampered_id",
        "future_ts",
        "malformed",
    ],
)
def test_bad_notifications_are_rejected(
    fake: FakeMercadoPago, method: MercadoPagoMethod, case: str
) -> None:
    settings = SETTINGS
    if case == "forged":
        note = fake.forged_webhook(42)
    elif case == "missing_signature":
        note = _without(fake.signed_webhook(42, SECRET), "x-signature")
    elif case == "stale":
        note = fake.stale_webhook(42, SECRET, age_seconds=301 + 5)
    elif case == "future_ts":
        note = fake.signed_webhook(42, SECRET, ts=int(time.time()) + 3600)
    elif case == "wrong_secret":
        note = fake.signed_webhook(42, SECRET)
        settings = {**SETTINGS, "webhook_secret": "another-secret"}
    elif case == "no_secret_configured":
        note = fake.signed_webhook(42, SECRET)
        settings = {**SETTINGS, "webhook_secret": ""}
    elif case == "tampered_id":
        genuine = fake.signed_webhook(42, SECRET)
        note = WebhookRequest(genuine.headers, {**genuine.query, "data.id": "43"}, genuine.body)
    else:
        genuine = fake.signed_webhook(42, SECRET)
        note = WebhookRequest({**genuine.headers, "x-signature": "garbage"}, genuine.query, b"{}")
    with pytest.raises(WebhookRejected):
        method.verify_webhook(plugin_ctx(settings), note)


def test_timestamp_is_checked_in_seconds_within_tolerance(fake: FakeMercadoPago) -> None:
    ts = 1_700_000_000
    note = fake.signed_webhook(42, SECRET, ts=ts)
    inside = MercadoPagoMethod(now_ms=lambda: (ts + 299) * 1000)
    outside = MercadoPagoMethod(now_ms=lambda: (ts + 301) * 1000)
    inside.verify_webhook(plugin_ctx(), note)
    with pytest.raises(WebhookRejected):
        outside.verify_webhook(plugin_ctx(), note)


def test_signature_matches_the_documented_manifest() -> None:
    # Mercado Pago's documented example manifest: "id:<data.id>;request-id:<x-request-id>;ts:<ts>;"
    import hashlib
    import hmac

    manifest = "id:123;request-id:abc;ts:1700000000;"
    expected = hmac.new(b"s", manifest.encode(), hashlib.sha256).hexdigest()
    assert sign("s", "123", "abc", 1700000000) == expected


def test_other_topics_are_acknowledged_without_events(
    fake: FakeMercadoPago, method: MercadoPagoMethod
) -> None:
    note = fake.signed_webhook(42, SECRET, topic="merchant_order", action="")
    method.verify_webhook(plugin_ctx(), note)
    assert method.parse_webhook(plugin_ctx(), note) == []
    assert json.loads(note.body)["type"] == "merchant_order"


# --- lost notifications ---------------------------------------------------------------------


async def test_search_by_reference_recovers_a_lost_notification(
    fake: FakeMercadoPago, method: MercadoPagoMethod
) -> None:
    payment_id = _unique_id()
    await method.start_checkout(
        *context(Money.parse("300", "MXN"), payment_id=payment_id, key=f"s-{payment_id}")
    )
    paid = fake.pay_preference(fake.last_preference_id)  # …and the webhook never arrives
    fake.create_payment(amount="1", external_reference="someone-else")

    found = await method.search_by_reference(plugin_ctx(), payment_id)

    assert [p.provider_payment_id for p in found] == [str(paid["id"])]
    assert found[0].status == "approved" and found[0].our_payment_id == payment_id
    search = fake.requests_to("GET", "/v1/payments/search")[-1]
    assert search.query["external_reference"] == str(payment_id)
    assert await method.search_by_reference(plugin_ctx(), payment_id + 1) == []


# --- refunds --------------------------------------------------------------------------------


async def test_partial_then_full_refund_with_idempotency(
    fake: FakeMercadoPago, method: MercadoPagoMethod
) -> None:
    paid = fake.create_payment(amount="1000.00", currency="MXN", external_reference="90")
    pid = str(paid["id"])

    partial = await method.refund(plugin_ctx(), pid, Money.parse("250.50", "MXN"), "refund-90-1")
    replay = await method.refund(plugin_ctx(), pid, Money.parse("250.50", "MXN"), "refund-90-1")

    assert partial.ok and partial.amount == 25050
    assert replay.provider_refund_id == partial.provider_refund_id
    assert len(fake.refunds[paid["id"]]) == 1
    sent = fake.requests_to("POST", f"/v1/payments/{pid}/refunds")
    assert {r.headers["x-idempotency-key"] for r in sent} == {"refund-90-1"}
    assert sent[0].json == {"amount": 250.5}
    state = await method.fetch_status(plugin_ctx(), pid)
    assert state.status == "partially_refunded" and state.amount_refunded == 25050

    rest = await method.refund(plugin_ctx(), pid, Money.parse("749.50", "MXN"), "refund-90-2")
    assert rest.ok and rest.amount == 74950
    state = await method.fetch_status(plugin_ctx(), pid)
    assert state.status == "refunded" and state.amount_refunded == 100000
    assert len(fake.refunds[paid["id"]]) == 2


async def test_refund_beyond_the_balance_fails_cleanly(
    fake: FakeMercadoPago, method: MercadoPagoMethod
) -> None:
    paid = fake.create_payment(amount="15990", currency="CLP")
    result = await method.refund(plugin_ctx(), str(paid["id"]), Money("CLP", 20000), "refund-x")
    assert not result.ok and result.error
    assert fake.refunds[paid["id"]] == []


# --- cash options ---------------------------------------------------------------------------


async def test_oxxo_returns_voucher_instructions(
    fake: FakeMercadoPago, method: MercadoPagoMethod
) -> None:
    ctx = context(Money.parse("450.00", "MXN"), payment_id=8001, key="oxxo-8001", option="oxxo")
    result = await method.start_checkout(*ctx)

    assert result.kind == "instructions" and result.provider_payment_id
    info = result.instructions
    assert info["method"] == "oxxo" and info["reference"]
    assert info["voucher_url"].startswith(fake.url) and info["barcode"]
    assert info["amount"] == "450.00" and info["currency"] == "MXN"
    assert result.expires_at is not None and info["expires_at"]
    [sent] = [
        r
        for r in fake.requests_to("POST", "/v1/payments")
        if r.path == "/v1/payments" and r.json["external_reference"] == "8001"
    ]
    assert sent.headers["x-idempotency-key"] == "oxxo-8001"
    assert sent.json["payment_method_id"] == "oxxo"
    assert sent.json["transaction_amount"] == 450
    assert sent.json["notification_url"] == ctx.checkout.notification_url
    # A voucher is not money: the payment is pending until the customer pays at the store.
    state = await method.fetch_status(plugin_ctx(), result.provider_payment_id)
    assert state.status == "pending" and state.our_payment_id == 8001


async def test_pix_returns_qr_instructions(
    fake: FakeMercadoPago, method: MercadoPagoMethod
) -> None:
    fake.site_currency = "BRL"
    try:
        ctx = context(Money.parse("89.90", "BRL"), payment_id=8002, key="pix-8002", option="pix")
        result = await method.start_checkout(*ctx)
    finally:
        fake.site_currency = "MXN"
    assert result.kind == "instructions"
    assert result.instructions["qr_code"].startswith("000201")
    assert result.instructions["qr_code_base64"] and result.instructions["voucher_url"]


async def test_pse_is_a_checkout_pro_redirect_limited_to_bank_transfer(
    fake: FakeMercadoPago, method: MercadoPagoMethod
) -> None:
    ctx = context(Money.parse("50000", "COP"), payment_id=8003, key="pse-8003", option="pse")
    result = await method.start_checkout(*ctx)
    assert result.kind == "redirect"
    excluded = fake.preferences[fake.last_preference_id]["payment_methods"][
        "excluded_payment_types"
    ]
    assert {"id": "bank_transfer"} not in excluded and {"id": "credit_card"} in excluded


async def test_unknown_or_foreign_option_is_refused(method: MercadoPagoMethod) -> None:
    with pytest.raises(ValueError, match="no option"):
        await method.start_checkout(*context(Money.parse("1", "MXN"), option="bitcoin"))
    with pytest.raises(ValueError, match="not offered in MX"):
        await method.start_checkout(*context(Money.parse("1", "MXN"), option="pix"))
    assert [code for code, _ in options_for("mx")] == ["oxxo", "paycash"]


def test_amounts_cross_the_sdk_boundary_exactly() -> None:
    from recaudo.plugins.mercadopago.client import json_number

    assert json_number(Decimal("1234.56")) == 1234.56
    assert isinstance(json_number(Decimal("15990")), int)
    assert repr(json_number(Decimal("0.10"))) == "0.1"
    with pytest.raises(ValueError):
        json_number(Decimal("12345678901234567.89"))


def test_cash_options_offered_are_the_tenants_country_ones() -> None:
    mexico = tenant("MX", "MXN")
    colombia = tenant("CO", "COP")
    method = MercadoPagoMethod()
    mx_codes = {code for code, _ in method.options_for(mexico)}
    co_codes = {code for code, _ in method.options_for(colombia)}
    assert "oxxo" in mx_codes and "pse" not in mx_codes
    assert "pse" in co_codes and "oxxo" not in co_codes
