"""Routes outside any tenant: the platform page, health, provider webhooks, dev tools."""
