"""What a run costs, and charging it in the transaction that ends the run."""
from .ids import credits_to_micros
from .store import accounts as account_store
from .store import submissions as submission_store


def run_cost_micros(cpu_seconds, settings):
    """CPU seconds times the price, never less than MIN_CHARGE."""
    price = credits_to_micros(settings["CREDITS_PER_CPU_SECOND"])
    minimum = credits_to_micros(settings["MIN_CHARGE"])
    return max(minimum, round(cpu_seconds * price))


def settle(conn, row, *, cpu_seconds, settings):
    """Charge a finished run (None = a fault of ours: no charge); returns micro-credits charged.

    The charge never takes the balance below zero: what the balance cannot cover
    is forgiven, so a run's end can never fail for want of money.
    """
    charged = 0
    if cpu_seconds is not None:
        account = account_store.get(conn, row["account_id"])
        charged = min(run_cost_micros(cpu_seconds, settings), account["balance_micros"])
        if charged:
            account_store.add_to_balance(conn, row["account_id"], -charged, "charge", submission_id=row["id"],
                                         note=f"{cpu_seconds:.3f} CPU seconds")
    submission_store.set_charge(conn, row["id"], charged)
    return charged
