"""Telling customers: channels, consents, notifications."""
