"""What customers raise and staff decide: proofs, disputes, tickets, chat, the review queue."""
