"""Payment references a customer types into a bank transfer, with a check digit.

A transfer arrives days later on a bank statement with whatever the customer typed as reference;
reconciliation can only attribute it if the reference is right. Every reference therefore ends in
a **Damm check digit** (H. M. Damm, 2004): one decimal digit that detects *every* single-digit
error and *every* transposition of two adjacent digits. Luhn and the banks' "base 10" schemes miss
the 09↔90 transposition; ISO 7064 MOD 97-10 ("algoritmo 97") needs two digits, which does not fit
SPEI's 7-digit numeric reference. Validation needs no settings: all digits, Damm residue zero.

Schemes (tenant setting ``reference_scheme``):

``numeric_check``
    ``<prefix><customer number, zero-padded to 6 digits><check digit>`` — any length, for
    deposits at a branch or transfers whose reference field accepts long numbers.
``clabe_ref``
    Exactly 7 digits, the maximum of SPEI's *referencia numérica* that travels with a transfer to
    the tenant's CLABE: ``<prefix><customer number>`` padded to 6 digits plus the check digit,
    so ``len(prefix) + len(customer number) <= 6``.

References are derived from a *numeric* customer identity (the customer's database id or a
purely numeric customer number): the same customer always gets the same reference, and two
customers never share one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SCHEMES = ("clabe_ref", "numeric_check")
DEFAULT_SCHEME = "numeric_check"
NUMERIC_WIDTH = 6  # customer digits in numeric_check (more are kept, never truncated)
SPEI_REFERENCE_DIGITS = 7

# The Damm quasigroup of order 10 (weakly totally anti-symmetric, zero diagonal).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


class BankReferenceError(ValueError):
    """A reference cannot be built from these settings or this customer identity."""


def damm_digit(digits: str) -> str:
    """The Damm check digit for a string of decimal digits."""
    interim = 0
    for char in digits:
        interim = _DAMM[interim][int(char)]
    return str(interim)


def _clean(ref: str) -> str:
    """What a person may add around a reference: spaces and hyphens."""
    return "".join(ref.split()).replace("-", "")


def check_reference(ref: str) -> bool:
    """True when ``ref`` is digits whose Damm check digit is right (typos make it False)."""
    digits = _clean(ref or "")
    if len(digits) < 2 or not digits.isascii() or not digits.isdigit():
        return False
    return damm_digit(digits) == "0"


def _customer_digits(customer: int | str) -> str:
    if isinstance(customer, bool):
        raise BankReferenceError("a customer identity is a number, not a boolean")
    text = str(customer).strip()
    if not text.isascii() or not text.isdigit():
        raise BankReferenceError(
            f"customer {customer!r} is not numeric: use the customer's id for its reference"
        )
    return str(int(text))  # 42, "42" and "0042" are the same customer


def _prefix(settings: Mapping[str, Any]) -> str:
    prefix = _clean(str(settings.get("reference_prefix") or ""))
    if prefix and not (prefix.isascii() and prefix.isdigit()):
        raise BankReferenceError(f"reference_prefix {prefix!r} must contain digits only")
    return prefix


def scheme_of(settings: Mapping[str, Any]) -> str:
    scheme = str(settings.get("reference_scheme") or DEFAULT_SCHEME)
    if scheme not in SCHEMES:
        raise BankReferenceError(f"reference_scheme must be one of {', '.join(SCHEMES)}")
    return scheme


def payment_reference(tenant_settings: Mapping[str, Any], customer_number_or_id: int | str) -> str:
    """The customer's stable bank reference under the tenant's scheme (see module docstring)."""
    prefix = _prefix(tenant_settings)
    customer = _customer_digits(customer_number_or_id)
    if scheme_of(tenant_settings) == "clabe_ref":
        room = SPEI_REFERENCE_DIGITS - 1 - len(prefix)
        if len(customer) > room:
            raise BankReferenceError(
                f"customer {customer} does not fit a 7-digit SPEI reference with prefix "
                f"{prefix!r}; use a shorter prefix or the numeric_check scheme"
            )
        body = prefix + customer.zfill(room)
    else:
        body = prefix + customer.zfill(NUMERIC_WIDTH)
    return body + damm_digit(body)


def customer_from_reference(tenant_settings: Mapping[str, Any], ref: str) -> int | None:
    """The customer number a reference stands for, or None if it is not one of this tenant's.

    For reconciliation: a statement line's reference that fails the check digit is a typo and
    must go to manual review rather than to a guessed customer.
    """
    if not check_reference(ref):
        return None
    digits = _clean(ref)
    prefix = _prefix(tenant_settings)
    if scheme_of(tenant_settings) == "clabe_ref" and len(digits) != SPEI_REFERENCE_DIGITS:
        return None
    if not digits.startswith(prefix):
        return None
    body = digits[len(prefix) : -1]
    if not body:
        return None
    number = int(body)
    return number if payment_reference(tenant_settings, number) == digits else None


def valid_clabe(clabe: str) -> bool:
    """Mexico's 18-digit CLABE with its check digit (weights 3, 7, 1, modulo 10)."""
    digits = _clean(clabe or "")
    if len(digits) != 18 or not digits.isascii() or not digits.isdigit():
        return False
    weights = (3, 7, 1) * 6
    total = sum(int(d) * w % 10 for d, w in zip(digits[:17], weights, strict=False))
    return (10 - total % 10) % 10 == int(digits[17])
