"""ASGI entry point for uvicorn (``recaudo.web.asgi:app``); configured from the environment."""

from __future__ import annotations

from recaudo.core.config import load_settings
from recaudo.web.app import create_asgi

app = create_asgi(load_settings())
