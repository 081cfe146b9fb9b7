"""Owner settings of a tenant (the back office's *Ajustes*): branding and logo, custom domains,
payment methods, plan and promise limits, help (FAQ and advice links) and the audit log view.

Each module validates what an owner typed and raises :class:`FormErrors` naming every bad field
(Spanish source text, translated by the page); nothing is stored unless everything is valid, and
every change records an audit event.
"""
