"""Which Host headers we accept, and the absolute URLs we put in messages and provider calls.

Absolute URLs are built from configuration (``RECAUDO_BASE_URL``) and stored data only, never from
request headers: a Host such as ``acme.example:443@evil.example`` would otherwise turn a sign-in
link into one that hands its token to another site. A tenant's portal root is:

* ``<base URL>/t/<slug>`` — always valid, used by jobs and by requests on the base host;
* ``<scheme>://<slug>.<base host>[:<base port>]`` when the visitor came through that subdomain;
* ``<scheme>://<custom domain>[:<base port>]`` when they came through a domain stored for the
  tenant (``tenant_domain``); the scheme and port are the base URL's.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from recaudo.core.config import Settings

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_PORT = re.compile(r"^[0-9]{1,5}$")


@dataclass(frozen=True)
class HostPort:
    """A Host header split into a lowercase host name (no trailing dot) and an optional port."""

    hostname: str
    port: int | None = None


def valid_hostname(name: str) -> bool:
    """Letters, digits and hyphens in dot-separated labels (IPv4 addresses included)."""
    name = name.lower()
    if not name or len(name) > 253:
        return False
    return all(_LABEL.match(label) for label in name.split("."))


def parse_host(value: str) -> HostPort | None:
    """``host[:port]`` with host a DNS name, IPv4 or bracketed IPv6; anything else is ``None``."""
    if not value or len(value) > 300:
        return None
    if value.startswith("["):
        inside, sep, rest = value[1:].partition("]")
        try:
            ipaddress.IPv6Address(inside)
        except ValueError:
            return None
        if not sep or not inside:
            return None
        hostname = f"[{inside.lower()}]"
        if not rest:
            return HostPort(hostname)
        if not rest.startswith(":"):
            return None
        port_text = rest[1:]
    else:
        hostname, sep, port_text = value.partition(":")
        hostname = hostname.lower()
        if hostname.endswith("."):
            hostname = hostname[:-1]
        if not valid_hostname(hostname):
            return None
        if not sep:
            return HostPort(hostname)
    if not _PORT.match(port_text) or int(port_text) > 65535:
        return None
    return HostPort(hostname, int(port_text))


def _origin(settings: Settings, hostname: str) -> str:
    base = urlsplit(settings.base_url)
    port = f":{base.port}" if base.port else ""
    return f"{base.scheme}://{hostname}{port}"


def portal_base_url(slug: str, settings: Settings, via_host: str = "") -> str:
    """The absolute root of a tenant's portal, without a trailing slash.

    ``via_host`` is the host name the request was routed by, *as matched* by
    :func:`recaudo.tenants.resolve.resolve_host`: the tenant's subdomain of the base host, or the
    value stored in ``tenant_domain`` (never a header's text). Anything that is not a valid host
    name falls back to the base URL form.
    """
    if via_host and valid_hostname(via_host):
        return _origin(settings, via_host.lower())
    return f"{settings.base_url}/t/{slug}"
