"""Tenancy: the tenant model, how a request finds its tenant, and tenant-scoped data access."""
