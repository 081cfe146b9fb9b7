"""Background work: the outbox relay, dramatiq actors and the in-process (embedded) worker."""
