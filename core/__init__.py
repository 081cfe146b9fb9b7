"""Recaudo's domain: money, customers, invoices, payments, plans and the plugin host.

Nothing in this package imports the web framework or the message broker.
"""
