"""Core's Piccolo app: the platform's and the domain's tables and their migrations.

Plugins bring their own apps (``recaudo_piccolo_app``); ``recaudo/piccolo_conf.py`` registers
them next to this one and ``recaudo migrate`` runs this app first.
"""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from recaudo.core.db import core_tables
from recaudo.core.platform.apps import CORE_APP

APP_CONFIG = AppConfig(
    app_name=CORE_APP,
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=core_tables(),
    migration_dependencies=[],
    commands=[],
)
