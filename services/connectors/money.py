"""Amounts read from elsewhere: finite, and within what a household's money can be."""
from __future__ import annotations

from decimal import Decimal

# A trillion: past it an amount is a misreading ("1e999", a reference number taken for a
# price), not money; it would also become infinity, or a thousand-digit string, once stored.
MAX_AMOUNT = Decimal("1e12")


def sane(value: Decimal) -> bool:
    """Tell whether an amount is finite and no larger than MAX_AMOUNT either way."""
    return value.is_finite() and value.copy_abs() <= MAX_AMOUNT  # abs() overflows at 1e9999999999
