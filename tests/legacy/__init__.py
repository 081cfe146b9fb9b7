"""Migrations as they were before a change, to build old databases in upgrade tests."""
