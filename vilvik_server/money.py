"""Credits: stored as integer micro-credits, shown as decimal numbers."""
from decimal import ROUND_HALF_UP, Decimal

MICROS = 1_000_000


def credits_to_micros(amount):
    """A decimal credit amount (number or string) as integer micro-credits."""
    return int((Decimal(str(amount)) * MICROS).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def micros_to_credits(micros):
    """Integer micro-credits as the decimal number the API shows."""
    if micros is None:
        return None
    return float(Decimal(micros) / MICROS)
