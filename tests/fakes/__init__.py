"""Test doubles for external services, reusable by plugin authors (real servers on 127.0.0.1)."""
