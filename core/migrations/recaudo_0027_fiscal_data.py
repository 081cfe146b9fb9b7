"""E-invoicing (issue #13): a customer's fiscal identity beside its tax id.

``fiscal_name`` is the name as the tax authority registered it (SAT requires it exactly, without
the company form), ``fiscal_regime`` the régimen fiscal code, ``fiscal_postal_code`` the fiscal
domicile's postal code and ``fiscal_use`` the default CFDI use. Empty until staff capture them;
the tenant's e-invoicing backend validates them.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T00:00:27:000000"
VERSION = "1.38.0"
DESCRIPTION = "e-invoicing: customer fiscal data"

COLUMNS = (
    ("fiscal_name", 300),
    ("fiscal_regime", 10),
    ("fiscal_postal_code", 10),
    ("fiscal_use", 10),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)
    for name, length in COLUMNS:
        manager.add_column(
            table_class_name="Customer",
            tablename="customer",
            column_name=name,
            db_column_name=name,
            column_class_name="Varchar",
            column_class=Varchar,
            params={
                "default": "",
                "null": False,
                "primary_key": False,
                "unique": False,
                "index": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": False,
                "length": length,
            },
            schema=None,
        )
    return manager
