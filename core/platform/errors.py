"""Errors a plugin raises on purpose."""

from __future__ import annotations


class PluginError(Exception):
    """A problem the tenant's staff must fix (a rejected credential, a missing bank account).

    The message is shown to staff as written, so say what to do, in the tenant's language, and
    never include a secret. Anything else a plugin raises is treated as a bug or an outage.
    """
