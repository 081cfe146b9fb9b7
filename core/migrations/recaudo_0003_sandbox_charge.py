"""Formerly created ``sandbox_charge``; the sandbox plugin owns that table now.

The migration keeps its id so that the chain of core migrations stays the same, but it creates
nothing any more: a fresh database gets the table from the sandbox plugin's own migration
(``plugins/sandbox/migrations/sandbox_0001_charge.py``), and a database that ran the old version
keeps its table, which that migration adopts (``CREATE TABLE IF NOT EXISTS``). See
``docs/architecture.md``, "Plugin-owned tables".
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T00:00:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "sandbox gateway charges (moved to the sandbox plugin: nothing to do)"


async def forwards() -> MigrationManager:
    return MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)
