"""Bank reconciliation: statement formats, the matching engine, import, review and undo."""
