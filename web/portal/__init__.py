"""The customer portal: thin Litestar handlers over core services (``/t/<slug>/…``)."""
