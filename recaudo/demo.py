"""Demo data: two branded tenants in different countries, ready to click through.

Idempotent: a second run finds the tenants and changes nothing. Invoices cover every status and
aging bucket relative to today, so the statement, reminders and KPIs have something to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from stdnum.co import nit
from stdnum.mx import rfc

from recaudo.core.access.staff import create_staff
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.config import Settings
from recaudo.core.tables import Customer, FaqEntry, Invoice
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.resolve import tenant_by_slug
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import NewTenant, create_tenant

#: What a new tenant gets: a notification channel and its branding. Payment methods are switched
#: on explicitly, once configured (bank details, provider credentials); a test tenant also gets
#: the sandbox gateway.
DEFAULT_PLUGINS = ("email", "branding")
TEST_PLUGINS = ("sandbox",)
DEMO_PASSWORD = "demo-recaudo-2026"  # noqa: S105 - printed by `recaudo demo` on purpose


@dataclass(frozen=True)
class DemoTenant:
    tenant: NewTenant
    branding: dict[str, str]
    policy: dict[str, Any]
    customers: tuple[tuple[str, str, str, str, str], ...]  # number, name, tax id, email, phone
    products: tuple[tuple[str, int], ...]  # description, unit amount (minor units)
    bank: dict[str, str]
    sign_in_as: str  # the customer the README and `recaudo demo` suggest signing in as


def _rfc(base: str) -> str:
    return base + rfc.calc_check_digit(base)


def _nit(base: str) -> str:
    return base + nit.calc_check_digit(base)


DEMOS = (
    DemoTenant(
        NewTenant(
            "ferreteria-norte",
            "Ferretería del Norte",
            "MX",
            "MXN",
            "es_MX",
            "America/Monterrey",
            test=True,
        ),
        {
            "display_name": "Ferretería del Norte",
            "primary_color": "#b3470b",
            "accent_color": "#7c2d12",
            "tagline": "Materiales y herramientas para tu obra desde 1987",
            "support_email": "cobranza@ferreteria-norte.example",
            "support_phone": "+52 81 5555 0100",
        },
        {
            "plan_max_installments": 6,
            "plan_min_down_payment_bp": 1000,
            "plan_max_days": 180,
            "advice_links": {
                "es": [["CONDUSEF: educación financiera", "https://www.condusef.gob.mx/"]],
                "en": [
                    ["CONDUSEF: financial education (in Spanish)", "https://www.condusef.gob.mx/"]
                ],
            },
        },
        (
            (
                "C-1001",
                "Construcciones Alameda SA de CV",
                _rfc("CAL050101AB"),
                "compras@alameda.example",
                "+528155550101",
            ),
            (
                "C-1002",
                "María Fernanda López García",
                _rfc("LOGM800101HD"),
                "maria.lopez@example.com",
                "+528155550102",
            ),
            (
                "C-1003",
                "Taller Mecánico El Güero",
                _rfc("TMG990315KP"),
                "taller.guero@example.com",
                "+528155550103",
            ),
        ),
        (
            ("Cemento gris 50 kg", 24_500),
            ("Varilla corrugada 3/8", 18_990),
            ("Taladro percutor 1/2", 189_900),
            ("Pintura vinílica 19 L", 135_000),
            ('Tubería PVC 4"', 32_450),
        ),
        {
            "bank_name": "BBVA México",
            "account_holder": "Ferretería del Norte SA de CV",
            "account_number": "012580001234567897",
            "reference_prefix": "71",
        },
        "maria.lopez@example.com",
    ),
    DemoTenant(
        NewTenant(
            "clinica-andina", "Clínica Andina", "CO", "COP", "es_CO", "America/Bogota", test=True
        ),
        {
            "display_name": "Clínica Andina",
            "primary_color": "#0f766e",
            "accent_color": "#134e4a",
            "tagline": "Cuidamos tu salud, facilitamos tus pagos",
            "support_email": "cartera@clinica-andina.example",
            "support_phone": "+57 601 555 0200",
        },
        {
            "plan_max_installments": 12,
            "plan_min_down_payment_bp": 0,
            "plan_max_days": 365,
            "advice_links": {
                "es": [
                    ["Superfinanciera: educación financiera", "https://www.superfinanciera.gov.co/"]
                ],
                "en": [
                    [
                        "Superfinanciera: financial education (in Spanish)",
                        "https://www.superfinanciera.gov.co/",
                    ]
                ],
            },
        },
        (
            (
                "P-2001",
                "Juan Camilo Restrepo",
                _nit("80123456"),
                "juan.restrepo@example.com",
                "+573005550201",
            ),
            (
                "P-2002",
                "Ana Sofía Martínez",
                _nit("52123456"),
                "ana.martinez@example.com",
                "+573005550202",
            ),
            (
                "P-2003",
                "Inversiones La Sabana SAS",
                _nit("90012345"),
                "pagos@lasabana.example",
                "+573005550203",
            ),
        ),
        (
            ("Consulta especialista", 18_000_000),
            ("Examen de laboratorio", 9_500_000),
            ("Terapia física (sesión)", 7_000_000),
            ("Imagen diagnóstica", 32_000_000),
        ),
        {
            "bank_name": "Bancolombia",
            "account_holder": "Clínica Andina SAS",
            "account_number": "0012345678901",
            "reference_prefix": "52",
        },
        "juan.restrepo@example.com",
    ),
)

# (days since due, quantity multiplier, state) — one invoice per aging bucket and status.
INVOICE_PLAN = (
    (-20, 1, "open"),  # current, due in 20 days
    (-3, 2, "open"),  # current, due soon
    (12, 1, "open"),  # 1-30
    (45, 1, "open"),  # 31-60
    (75, 2, "open"),  # 61-90
    (130, 1, "open"),  # 90+
    (20, 3, "partial"),  # partially paid
    (40, 1, "paid"),  # paid
    (10, 1, "void"),  # voided
)

FAQ = (  # (Spanish, English) pairs of (question, answer)
    (
        (
            "¿Cómo pago mis facturas?",
            "Entra con el enlace que te enviamos, elige las facturas y el medio de pago.",
        ),
        (
            "How do I pay my invoices?",
            "Open the link we sent you, pick the invoices and the payment method.",
        ),
    ),
    (
        (
            "¿Puedo pagar en efectivo?",
            "Sí: elige transferencia o efectivo y sigue las instrucciones con tu referencia.",
        ),
        (
            "Can I pay in cash?",
            "Yes: choose transfer or cash and follow the instructions with your reference.",
        ),
    ),
    (
        (
            "No puedo pagar este mes, ¿qué hago?",
            "Pulsa «No puedo pagar» en tu estado de cuenta y te ofrecemos opciones.",
        ),
        (
            "I can't pay this month. What can I do?",
            "Press “I can't pay” on your statement and we will show you your options.",
        ),
    ),
)


async def enable_default_plugins(
    scope: TenantScope,
    settings: Settings,
    *,
    test: bool = False,
    bank: dict[str, str] | None = None,
) -> list[str]:
    """Switch on what a new tenant gets; bank transfer only with its bank details. Returns them."""
    plugins = [*DEFAULT_PLUGINS, *(TEST_PLUGINS if test else ())]
    if bank:
        plugins.append("banktransfer")
    for plugin in plugins:
        values = bank if plugin == "banktransfer" else None
        await set_plugin(
            scope, plugin, enabled=True, settings=values, secret_key=settings.secret_key
        )
    return plugins


#: Reminder consents per demo customer (by position): channels and quiet hours, and a segment.
DEMO_CONSENTS = (
    (("email", "whatsapp"), "", "", "empresas"),
    (("email", "sms"), "21:00", "08:00", ""),
    (("email",), "", "", "empresas"),
)
#: Channel plugins switched on for the demo tenants when this installation has them.
DEMO_CHANNEL_PLUGINS = ("whatsapp", "sms")


async def _reminder_setup(scope: TenantScope, settings: Settings) -> None:
    """The default reminder policy, one for the "empresas" segment (e-mail first, a call at +10),
    and the WhatsApp/SMS channels when their plugins are installed."""
    from recaudo.core.collections.policies import DEFAULT_STAGES, ensure_default_policy
    from recaudo.core.platform.host import get_host
    from recaudo.core.tables import DunningPolicy, DunningStage

    await ensure_default_policy(scope)
    now = datetime.now(UTC)
    policy = DunningPolicy(name="Empresas", segment="empresas", active=True)
    policy.created_at = policy.updated_at = now  # type: ignore[assignment]
    policy_id = await scope.add_unless_exists(policy)
    if policy_id is not None:
        for position, stage in enumerate(DEFAULT_STAGES):
            await scope.add(
                DunningStage(
                    policy=policy_id,
                    position=position,
                    offset_days=stage.offset_days,
                    name=stage.name,
                    channels=["email", *[c for c in stage.channels if c != "email"]],
                    templates=stage.templates,
                    action=stage.action,
                    fallback=stage.fallback,
                    created_at=now,
                )
            )
    host = get_host()
    for plugin in DEMO_CHANNEL_PLUGINS:
        if host.get(plugin) is not None:
            await set_plugin(scope, plugin, enabled=True, secret_key=settings.secret_key)


async def _reminder_consents(scope: TenantScope, customer_id: int, index: int) -> None:
    from recaudo.core.messaging.preferences import save_consents

    channels, quiet_start, quiet_end, segment = DEMO_CONSENTS[index % len(DEMO_CONSENTS)]
    await save_consents(scope, customer_id, list(channels), quiet_start, quiet_end)
    if segment:
        await scope.update(Customer, {Customer.segment: segment}).where(Customer.id == customer_id)


#: Company forms SAT leaves out of the receptor's name (CFDI 4.0 wants the name as registered).
COMPANY_FORMS = (" SA DE CV", " S DE RL DE CV", " SAPI DE CV", " SC", " AC")
#: A fiscal-domicile postal code per demo customer (by position).
DEMO_POSTAL_CODES = ("64000", "64700", "66450")


async def _fiscal_data(
    scope: TenantScope, customer_id: int, index: int, name: str, tax_id: str
) -> None:
    """What SAT needs of a demo customer: its registered name (uppercase, without the company
    form), regime (601 companies, 612 a person with business income: a 13-character RFC), a
    5-digit postal code and the CFDI use G03 (gastos en general)."""
    fiscal_name = name.upper()
    company = len(tax_id) == 12
    for form in COMPANY_FORMS:
        if fiscal_name.endswith(form):
            fiscal_name = fiscal_name[: -len(form)]
            company = True
    await scope.update(
        Customer,
        {
            Customer.fiscal_name: fiscal_name.strip(),
            Customer.fiscal_regime: "601" if company else "612",
            Customer.fiscal_postal_code: DEMO_POSTAL_CODES[index % len(DEMO_POSTAL_CODES)],
            Customer.fiscal_use: "G03",
        },
    ).where(Customer.id == customer_id)


async def _einvoicing_setup(scope: TenantScope, settings: Settings) -> None:
    """Switch on ``sat_mx`` with SAT's public test CSD and the local fake PAC, when installed:
    the workers then issue the demo's invoices and payment complements (no fiscal validity)."""
    from recaudo.core.platform.host import get_host

    if get_host().get("sat_mx") is None:
        return
    try:
        from recaudo.plugins.sat_mx.demo import demo_settings
    except ImportError:  # an older sat_mx without demo settings
        return
    await set_plugin(
        scope, "sat_mx", enabled=True, settings=demo_settings(), secret_key=settings.secret_key
    )


class DemoRefused(RuntimeError):
    """Demo data is for development installs only."""


def _login_lines(settings: Settings, demo: DemoTenant) -> list[str]:
    slug = demo.tenant.slug
    return [
        f"  portal:      {settings.base_url}/t/{slug}/",
        f"  customer:    sign in with {demo.sign_in_as}",
        f"  back office: {settings.base_url}/t/{slug}/staff/"
        f"  (admin@{slug}.example / {DEMO_PASSWORD})",
    ]


async def seed_demo(
    settings: Settings, today: date | None = None, *, history: bool = False
) -> list[str]:
    """The demo tenants; with ``history`` (what ``recaudo demo`` asks for) also six months of
    paid invoices and promises (recaudo/demo_history.py) for the workspace's KPIs to measure."""
    from recaudo.core.payments.ledger import record_staff_payment
    from recaudo.demo_history import seed_history

    if not settings.is_development:
        raise DemoRefused(
            "demo data (shared passwords, a sandbox anyone can approve) is only seeded with "
            "RECAUDO_ENV=development; nothing was created"
        )
    today = today or date.today()
    lines: list[str] = []
    for demo in DEMOS:
        existing = await tenant_by_slug(demo.tenant.slug)
        if existing is not None:
            if not existing.test:  # seeded before test tenants existed
                await Tenant.update({Tenant.test: True}).where(Tenant.id == existing.id)
            lines.append(f"demo tenant {demo.tenant.slug} already exists: left as it is")
            lines.extend(_login_lines(settings, demo))
            continue
        tenant = await create_tenant(demo.tenant, branding=demo.branding)
        tenant.policy = demo.policy
        await tenant.save().run()
        scope = TenantScope(int(tenant.id))
        await enable_default_plugins(scope, settings, test=True, bank=demo.bank)
        email = f"admin@{demo.tenant.slug}.example"
        await create_staff(scope, email, DEMO_PASSWORD, "owner", "Administración")
        await create_staff(
            scope, f"cobranza@{demo.tenant.slug}.example", DEMO_PASSWORD, "collector", "Cobranza"
        )
        for i, ((question, answer), (question_en, answer_en)) in enumerate(FAQ):
            await scope.add(FaqEntry(locale="es", question=question, answer=answer, position=i))
            await scope.add(
                FaqEntry(locale="en", question=question_en, answer=answer_en, position=i)
            )
        await _reminder_setup(scope, settings)
        if demo.tenant.country == "MX":
            await _einvoicing_setup(scope, settings)
        count = 0
        for c_index, (number, name, tax_id, mail, phone) in enumerate(demo.customers):
            customer = await create_customer(
                scope,
                NewCustomer(number, name, tax_id, demo.tenant.country, mail, phone),
                demo.tenant.country,
            )
            await _reminder_consents(scope, int(customer.id), c_index)
            if demo.tenant.country == "MX":
                await _fiscal_data(scope, int(customer.id), c_index, name, tax_id)
            for i_index, (days, qty, state) in enumerate(INVOICE_PLAN):
                description, unit = demo.products[(c_index + i_index) % len(demo.products)]
                due = today - timedelta(days=days)
                invoice = await create_invoice(
                    scope,
                    NewInvoice(
                        customer_id=int(customer.id),
                        number=f"{demo.tenant.slug[:3].upper()}-{c_index + 1}{i_index + 1:03d}",
                        issue_date=due - timedelta(days=30),
                        due_date=due,
                        currency=demo.tenant.currency,
                        lines=(NewLine(description, qty, unit),),
                        # IVA 16 %, rounded half up as SAT computes it on the CFDI
                        tax=(qty * unit * 16 + 50) // 100 if demo.tenant.country == "MX" else 0,
                        description=description,
                    ),
                )
                count += 1
                if state in ("partial", "paid"):
                    amount = invoice.total if state == "paid" else invoice.total // 3
                    await record_staff_payment(
                        scope,
                        customer_id=int(customer.id),
                        currency=invoice.currency,
                        amount=int(amount),
                        method="banktransfer",
                        reference=f"DEMO-{invoice.number}",
                        invoice_ids=[int(invoice.id)],
                        source="demo",  # history, not news: no receipt is sent
                    )
                elif state == "void":
                    await scope.update(Invoice, {Invoice.status: "void"}).where(
                        Invoice.id == invoice.id
                    )
        if history:
            count += await seed_history(
                scope,
                slug=demo.tenant.slug,
                currency=demo.tenant.currency,
                tax_rate_pct=16 if demo.tenant.country == "MX" else 0,
                products=demo.products,
                timezone=demo.tenant.timezone,
                today=today,
            )
        customers = await scope.count(Customer)
        lines.append(f"demo tenant {tenant.slug}: {customers} customers, {count} invoices")
        lines.extend(_login_lines(settings, demo))
    if settings.dev_outbox:
        lines.append(f"one-time sign-in links are shown at {settings.base_url}/dev/outbox")
    return lines
