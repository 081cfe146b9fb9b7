"""Translations and locale-aware formatting (babel).

Templates are written in Spanish, the portal's first language;
``core/messaging/locale/<lang>/LC_MESSAGES/messages.po`` translates them.
Catalogs are compiled in memory at start-up, so there is no build step to forget. Money and
dates are formatted with the tenant's locale and currency.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from recaudo.core.common.money import format_minor

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"es": "Español", "en": "English"}


@cache
def translations(language: str) -> NullTranslations:
    """All ``*.po`` catalogs of a language merged (each area of the app keeps its own file)."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    files = sorted(folder.glob("*.po")) if language != "es" else []
    if not files:
        return NullTranslations()
    merged: Translations | None = None
    for po in files:
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = Translations(buffer)
        merged = part if merged is None else merged.merge(part)
    return merged or NullTranslations()


def pick_language(requested: str | None, cookie: str | None, tenant_locale: str) -> str:
    for candidate in (requested, cookie):
        if candidate and candidate in LANGUAGES:
            return candidate
    return tenant_locale.split("_")[0] if tenant_locale.split("_")[0] in LANGUAGES else "es"


@dataclass(frozen=True)
class Formatter:
    """Formats for one page: dates in the visitor's language, money as the tenant's country
    writes it (an English page of a Colombian clinic shows ``$180.500``, not ``COP180,500``:
    babel has no English locale for most of Latin America, and en_US spells foreign pesos out)."""

    locale: str  # dates and words: e.g. es_MX, es_CO, en_US
    timezone: str
    money_locale: str = ""  # the tenant's locale, e.g. es_CO; empty: ``locale``

    def money(self, amount: int, currency: str) -> str:
        return format_minor(int(amount), currency, self.money_locale or self.locale)

    def date(self, value: date | None, style: str = "medium") -> str:
        return _format_date(value, style, self.locale) if value else ""

    def datetime(self, value: datetime | None, style: str = "medium") -> str:
        if value is None:
            return ""
        return format_datetime(
            value, format=style, tzinfo=ZoneInfo(self.timezone), locale=self.locale
        )

    @property
    def html_lang(self) -> str:
        return self.locale.replace("_", "-")


@lru_cache(maxsize=8192)
def _format_date(value: date, style: str, locale: str) -> str:
    """Dates repeat across rows and polls (due dates); babel's formatting is worth caching."""
    return format_date(value, format=style, locale=locale)


def formatter_for(language: str, tenant_locale: str, timezone: str) -> Formatter:
    region = tenant_locale.split("_")[1] if "_" in tenant_locale else "MX"
    return Formatter(
        f"{language}_{region}" if language == "es" else "en_US",
        timezone,
        money_locale=tenant_locale,
    )
