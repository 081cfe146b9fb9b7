"""Getting paid when customers cannot pay at once: plans, promises (dunning later)."""
