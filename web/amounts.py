"""Reading an amount field of a form the way the page showed amounts (portal and back office).

The page formats money as the tenant's country writes it (``fmt.money``, also on English pages),
so a typed amount is read in that same locale by
:func:`recaudo.core.common.money_input.parse_amount`.
"""

from __future__ import annotations

from litestar import Request

from recaudo.core.common.money import AmountTooLarge, Money, MoneyError
from recaudo.core.common.money_input import AmountFormatError, parse_amount
from recaudo.core.messaging.i18n import formatter_for, translations
from recaudo.tenants.models import Tenant
from recaudo.web.templating import request_language


def page_locale(request: Request, tenant: Tenant) -> str:
    """The locale the page writes money in (the tenant's country, whatever the language)."""
    fmt = formatter_for(request_language(request, tenant.locale), tenant.locale, tenant.timezone)
    return fmt.money_locale or fmt.locale


def read_amount(
    request: Request, tenant: Tenant, text: str, currency: str
) -> tuple[Money | None, str]:
    """``(money, "")``, or ``(None, message)`` with the message already in the visitor's
    language (it names the expected format, e.g. "Escribe el monto así: 1,500.00")."""
    try:
        return parse_amount(text, currency, page_locale(request, tenant)), ""
    except AmountTooLarge:
        trans = translations(request_language(request, tenant.locale))
        return None, trans.gettext("El monto es demasiado grande. Revisa la cifra.")
    except AmountFormatError as exc:
        trans = translations(request_language(request, tenant.locale))
        return None, trans.gettext(str(exc)) % exc.params
    except MoneyError:
        trans = translations(request_language(request, tenant.locale))
        return None, trans.gettext("Escribe el monto con números, por ejemplo 1500.50.")
