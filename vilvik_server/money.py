"""Credits: stored as integer micro-credits, shown as decimal numbers."""
from decimal import ROUND_HALF_UP, Decimal

MICROS = 1_000_000
# The most an account may hold (10^12 credits): far below SQLite's 64-bit integers, so
# available + reserved can never overflow into a floating-point column value.
MAX_BALANCE_MICROS = 10 ** 18


def credits_to_micros(amount):
    """A decimal credit amount (number or string) as integer micro-credits."""
    return int((Decimal(str(amount)) * MICROS).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def micros_to_credits(micros):
    """Integer micro-credits as the decimal number the API shows."""
    if micros is None:
        return None
    return float(Decimal(micros) / MICROS)
