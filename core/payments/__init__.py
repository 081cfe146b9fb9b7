"""Payments: the payment-method contract, the lifecycle, allocation and the ledger."""
