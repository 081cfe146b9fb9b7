"""Outbound webhooks: signed events POSTed to the tenant's own systems (docs/webhooks.md).

``endpoints`` manages the URLs and their secrets, ``events`` turns domain changes into events and
one delivery per subscribed endpoint, ``delivery`` signs and sends them (with the SSRF checks).
"""
