"""The money rules: reserve a run's maximum cost at accept, settle its actual cost at the end.

A run's maximum cost is its CPU-seconds limit times the price, never less than
MIN_CHARGE. At the end the reservation is released and the actual cost charged,
in the transaction that ends the run: CPU seconds (as shown in `usage`, to the
millisecond) times the price, rounded half up to a micro-credit, at least
MIN_CHARGE and at most the reservation. Runs the server failed are refunded whole.
"""
from decimal import ROUND_HALF_UP, Decimal

from . import errors
from .domain.words import plural
from .money import credits_to_micros, micros_to_credits
from .store import accounts as account_store
from .store import submissions as submission_store

SERVER_FAULTS = ("internal_error", "worker_lost")


def price_micros(settings):
    """Micro-credits per CPU second."""
    return credits_to_micros(settings["CREDITS_PER_CPU_SECOND"])


def run_cost_micros(cpu_seconds, settings):
    """What `cpu_seconds` of compute costs, never less than MIN_CHARGE."""
    cost = (Decimal(str(cpu_seconds)) * price_micros(settings)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(credits_to_micros(settings["MIN_CHARGE"]), int(cost))


def estimate_micros(parent, num_generations, settings, reserved):
    """What a run of `num_generations` likely costs, from a finished run of the same code (its CPU
    per generation); None when that run measured nothing. Never above the reservation."""
    if parent is None or not parent["cpu_seconds"] or not parent["generations_completed"]:
        return None
    per_generation = parent["cpu_seconds"] / parent["generations_completed"]
    return min(run_cost_micros(per_generation * num_generations, settings), reserved)


def reserve(conn, account_id, submission_id, cpu_seconds_limit, settings):
    """Hold the run's maximum cost; raises InsufficientCredits when the available balance is short.

    The submission's row must already carry the reservation (reserved_micros = run_cost_micros()).
    """
    needed = run_cost_micros(cpu_seconds_limit, settings)
    if not account_store.reserve(conn, account_id, needed, submission_id):
        available = account_store.get(conn, account_id)["available_micros"]
        affordable = int(available // max(price_micros(settings), 1))
        raise errors.InsufficientCredits(
            f"this run may use {plural(cpu_seconds_limit, 'CPU second')}, which reserves "
            f"{plural(micros_to_credits(needed), 'credit')}; {micros_to_credits(available)} are available"
            + (f" (lower limits.cpu_seconds to {affordable} or less to fit)" if affordable >= 1 else ""),
            details={"available": micros_to_credits(available), "required": micros_to_credits(needed)})
    return needed


def reserve_runs(conn, account_id, submission_ids, cpu_seconds_limit, settings, what="these runs"):
    """Hold the maximum cost of every run at once; raises InsufficientCredits (holding nothing) when short.

    The runs' rows must already carry the reservation (reserved_micros = run_cost_micros()).
    """
    needed = run_cost_micros(cpu_seconds_limit, settings)
    if not account_store.reserve_many(conn, account_id, needed, submission_ids):
        available = account_store.get(conn, account_id)["available_micros"]
        total = needed * len(submission_ids)
        runs_that_fit = available // needed if needed else 0
        seconds_that_fit = int(available // (len(submission_ids) * max(price_micros(settings), 1)))
        hints = ([f"lower base.limits.cpu_seconds to {seconds_that_fit}"] if seconds_that_fit >= 1 else []) + \
            ([f"run at most {plural(runs_that_fit, 'run')}"] if runs_that_fit >= 1 else [])
        together = f" and {micros_to_credits(total)} for all {len(submission_ids)}" if len(submission_ids) > 1 else ""
        raise errors.InsufficientCredits(
            f"{what} may use {plural(cpu_seconds_limit, 'CPU second')} each, which reserves "
            f"{plural(micros_to_credits(needed), 'credit')} per run{together}; "
            f"{micros_to_credits(available)} are available" + (f" ({' or '.join(hints)} to fit)" if hints else ""),
            details={"available": micros_to_credits(available), "required": micros_to_credits(total)})
    return needed * len(submission_ids)


def settle(conn, row, *, cpu_seconds, settings, error_code=None):
    """Release the run's reservation and charge what it used; returns micro-credits charged.

    `cpu_seconds` None means the run never started (cancelled while queued). A run
    the server failed is refunded whole.
    """
    held = row["reserved_micros"]
    if cpu_seconds is None or error_code in SERVER_FAULTS:
        kind = "refund" if error_code in SERVER_FAULTS else "release"
        note = "the server failed this run" if kind == "refund" else "the run never started"
        if held:
            account_store.release(conn, row["account_id"], held, row["id"], kind=kind, note=note)
        charged = 0
    else:
        if held:
            account_store.release(conn, row["account_id"], held, row["id"])
        charged = min(run_cost_micros(cpu_seconds, settings), held)
        if charged:
            account_store.add_to_balance(conn, row["account_id"], -charged, "charge", submission_id=row["id"],
                                         note=f"{cpu_seconds:.3f} CPU seconds")
    submission_store.set_charge(conn, row["id"], charged)
    return charged
