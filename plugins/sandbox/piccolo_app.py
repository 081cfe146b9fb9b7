"""The sandbox's own Piccolo app: its ``sandbox_charge`` table and the migrations that make it."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from recaudo.plugins.sandbox.tables import SandboxCharge

APP_CONFIG = AppConfig(
    app_name="sandbox",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[SandboxCharge],
    migration_dependencies=["recaudo.core.piccolo_app"],  # its rows point at core's tenants
    commands=[],
)
