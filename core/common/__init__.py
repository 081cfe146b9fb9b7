"""Shared kernel: exact money, JSON safety, caches, the outbox, audit and rate limits."""
