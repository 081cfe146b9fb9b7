"""The single Piccolo app that holds Recaudo's tables and migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from recaudo.core.db import all_tables

APP_CONFIG = AppConfig(
    app_name="recaudo",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=all_tables(),
    migration_dependencies=[],
    commands=[],
)
