"""Errors of reconciliation decisions, worded for staff (Spanish; the pages translate them)."""

from __future__ import annotations


class ReconcileError(ValueError):
    """A decision that cannot be made as asked (HTTP 400/409, CLI exit 1); nothing changed."""


class LineNotFound(ReconcileError):
    """No such statement line for this tenant (another tenant's id too): HTTP 404."""


__all__ = ["LineNotFound", "ReconcileError"]
