"""Recaudo: a self-hostable, multi-tenant collections platform."""

__version__ = "0.1.0"
