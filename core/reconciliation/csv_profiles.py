"""CSV layouts a tenant saved, one per bank (``bank_csv_profile``): statements in CSV have no
standard columns, so staff describe them once and pick the layout by name when importing."""

from __future__ import annotations

from datetime import UTC, datetime

from recaudo.core.common.atomic import atomic
from recaudo.core.common.audit import record
from recaudo.core.reconciliation.formats import CsvProfile, StatementError
from recaudo.core.tables import BankCsvProfile
from recaudo.core.tenant_settings.errors import FormErrors, SettingNotFound
from recaudo.tenants.scoped import TenantScope

MAX_NAME = 60


def _profile(row: BankCsvProfile) -> CsvProfile | None:
    data = row.mapping if isinstance(row.mapping, dict) else None
    if data is None:
        from recaudo.core.common.jsonfield import loads

        data = loads(row.mapping, {}) or {}
    try:
        return CsvProfile.from_dict({**data, "name": str(row.name)})
    except (StatementError, TypeError, ValueError):
        return None  # a layout saved by an older version that no longer reads: not offered


async def csv_profiles(scope: TenantScope) -> list[CsvProfile]:
    """The tenant's layouts by name."""
    rows = await scope.objects(BankCsvProfile).order_by(BankCsvProfile.name)
    return [p for p in (_profile(row) for row in rows) if p is not None]


async def csv_profile(scope: TenantScope, name: str) -> CsvProfile | None:
    row = (
        await scope.objects(BankCsvProfile)
        .where(BankCsvProfile.name == str(name or "").strip())
        .first()
    )
    return _profile(row) if row is not None else None


def _name(profile: CsvProfile) -> str:
    name = " ".join(str(profile.name or "").split())
    if not name:
        raise FormErrors({"name": "Escribe un nombre para el formato."})
    if len(name) > MAX_NAME:
        raise FormErrors(
            {"name": "El nombre es demasiado largo (máximo %(max)d caracteres)."},
            {"name": {"max": MAX_NAME}},
        )
    return name


async def save_csv_profile(scope: TenantScope, profile: CsvProfile, *, actor: str) -> None:
    """Create or replace the layout named ``profile.name``. :class:`FormErrors` (``name``,
    ``mapping``) when the layout cannot read a statement; nothing is stored then."""
    name = _name(profile)
    problems = profile.errors()
    if problems:
        raise FormErrors({"mapping": "; ".join(problems)[:1000]})
    mapping = {**profile.to_dict(), "name": name}

    async def work(_tx: object) -> None:
        existing = await scope.objects(BankCsvProfile).where(BankCsvProfile.name == name).first()
        now = datetime.now(UTC)
        if existing is None:
            await scope.add(BankCsvProfile(name=name, mapping=mapping, updated_at=now))
        else:
            await scope.update(
                BankCsvProfile, {BankCsvProfile.mapping: mapping, BankCsvProfile.updated_at: now}
            ).where(BankCsvProfile.id == existing.id)
        await record(
            scope,
            actor,
            "settings.bank_csv_profile.saved",
            f"bank_csv_profile:{name}",
            created=existing is None,
            mapping=mapping,
        )

    await atomic(work)


async def delete_csv_profile(scope: TenantScope, name: str, *, actor: str) -> None:
    """Forget a layout (statements imported with it stay). :class:`SettingNotFound` if unknown."""
    text = " ".join(str(name or "").split())

    async def work(_tx: object) -> None:
        existing = (
            await scope.objects(BankCsvProfile).where(BankCsvProfile.name == text).first()
            if text
            else None
        )
        if existing is None:
            raise SettingNotFound("Formato CSV no encontrado.")
        await scope.delete(BankCsvProfile).where(BankCsvProfile.id == existing.id)
        await record(scope, actor, "settings.bank_csv_profile.deleted", f"bank_csv_profile:{text}")

    await atomic(work)


__all__ = ["csv_profile", "csv_profiles", "delete_csv_profile", "save_csv_profile"]
