"""A plugin with tables of its own, as a third party would write one (registered by tests only).

``Note`` belongs to one tenant; ``NoteKind`` is shared by every tenant and says so with the
``platform-wide`` tag.
"""

from __future__ import annotations

from pathlib import Path

from piccolo.columns import Varchar
from piccolo.conf.apps import AppConfig
from piccolo.table import Table

from recaudo.core.hookspecs import hookimpl
from recaudo.core.platform.apps import PLATFORM_WIDE
from recaudo.tenants.models import TenantOwned


class Note(TenantOwned, Table, tablename="notes_note"):
    text = Varchar(length=200)


class NoteKind(Table, tablename="notes_kind", tags=[PLATFORM_WIDE]):
    name = Varchar(length=40, unique=True)


APP_CONFIG = AppConfig(
    app_name="notes",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[Note, NoteKind],
    migration_dependencies=["recaudo.core.piccolo_app"],
)


@hookimpl
def recaudo_piccolo_app() -> AppConfig:
    return APP_CONFIG
