"""The SAT plugin's own Piccolo app: ``sat_document``, ``sat_folio`` and their migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from recaudo.plugins.sat_mx.tables import SatDocument, SatFolio

APP_CONFIG = AppConfig(
    app_name="sat_mx",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[SatDocument, SatFolio],
    migration_dependencies=["recaudo.core.piccolo_app"],  # its rows point at core's tenants
    commands=[],
)
