"""The plugin API's version and the rule that decides whether a plugin may load.

Semantic: a new minor version only adds (a plugin written for 1.0 runs on 1.3); a new major
version breaks (a plugin written for 1.x does not run on 2.0). A plugin written for a newer minor
than the host's may use what this host lacks, so it is refused too.
"""

from __future__ import annotations

API_VERSION = "1.0"
#: What a plugin module that does not say (``RECAUDO_API``) is assumed to be written for.
ASSUMED_VERSION = "1.0"


def _parse(version: str) -> tuple[int, int]:
    major, _, minor = str(version).strip().partition(".")
    return int(major), int(minor or 0)


def incompatibility(plugin: str, wanted: str, host: str = API_VERSION) -> str:
    """Why ``plugin``, written for API ``wanted``, cannot load on API ``host``; ``""`` if it can."""
    try:
        want_major, want_minor = _parse(wanted)
    except ValueError:
        return f"plugin {plugin}: RECAUDO_API {wanted!r} is not a version like '1.0'"
    have_major, have_minor = _parse(host)
    if want_major != have_major or want_minor > have_minor:
        return (
            f"plugin {plugin} needs plugin API {wanted}; this Recaudo provides API {host} "
            f"(same major, minor up to {host})"
        )
    return ""
