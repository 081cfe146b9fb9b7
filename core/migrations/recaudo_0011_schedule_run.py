"""schedule_run: one claimed slot per periodic schedule (workers/scheduler.py)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T00:00:11:000000"
VERSION = "1.38.0"
DESCRIPTION = "schedule_run: a schedule's slot fires once across worker processes"


def _params(**overrides: object) -> dict[str, object]:
    params: dict[str, object] = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    params.update(overrides)
    return params


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)
    manager.add_table(class_name="ScheduleRun", tablename="schedule_run", schema=None, columns=None)
    columns = (
        ("slot_key", Varchar, _params(length=250, default="", unique=True)),
        ("schedule", Varchar, _params(length=200, default="")),
        ("slot", Timestamptz, _params(default=TimestamptzNow())),
        ("claimed_at", Timestamptz, _params(default=TimestamptzNow())),
        ("claimed_by", Varchar, _params(length=100, default="")),
    )
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="ScheduleRun",
            tablename="schedule_run",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
