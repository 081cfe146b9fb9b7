"""Customers, invoices and the statement a customer sees."""
