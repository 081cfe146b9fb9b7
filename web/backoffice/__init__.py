"""The back office (``/t/<slug>/staff/…``): thin handlers over core services."""
