"""The notes plugin's tables, frozen as they were when this migration was written."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import ForeignKey, OnDelete, Varchar
from piccolo.engine import engine_finder
from piccolo.table import Table

ID = "2026-12-01T00:00:01:000000"  # the same id as another app's migration: ids are per app
VERSION = "1.38.0"
DESCRIPTION = "notes and note kinds"


class Tenant(Table, tablename="tenant"):
    pass


class Note(Table, tablename="notes_note"):
    tenant = ForeignKey(Tenant, on_delete=OnDelete.cascade, index=True, null=False)
    text = Varchar(length=200)


class NoteKind(Table, tablename="notes_kind"):
    name = Varchar(length=40, unique=True)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="notes", description=DESCRIPTION)

    async def create() -> None:
        for table in (Tenant, Note, NoteKind):
            table._meta.db = engine_finder()
        for table in (Note, NoteKind):
            await table.create_table().run()

    manager.add_raw(create)
    return manager
