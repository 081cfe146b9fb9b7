"""E-invoicing host: asks the tenant's e-invoicing backend (a plugin) to document invoices and
payments, from jobs on the ``einvoicing`` queue and from staff actions, and reads its documents
back for the back office, the portal, the API and the CLI."""
