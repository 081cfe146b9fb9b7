"""Who may see what: customers' one-time links and staff accounts."""
