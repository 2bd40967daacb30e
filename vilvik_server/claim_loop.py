"""The loop the executor and the webhook sender share: take a seat, claim work, hand it off.

Bounded (a seat per piece of work in flight), woken when work is queued, and
stoppable: it checks `stopping` at least every half second.
"""
import logging

log = logging.getLogger("vilvik.claim_loop")


def run(*, stopping, seats, wake, claim, hand_off, idle_seconds, what):
    """Until `stopping` is set: take a seat, `claim()` one item and `hand_off(item)`, which
    must release the seat when the item is done; with nothing to claim, wait for `wake`
    or `idle_seconds()`."""
    while not stopping.is_set():
        if not seats.acquire(timeout=0.5):
            continue
        try:
            item = claim()
        except Exception:  # noqa: B902 - a locked or failing database must not kill the loop
            log.exception("could not claim %s", what)
            item = None
        if item is None:
            seats.release()
            wake.wait(idle_seconds())
            wake.clear()
            continue
        hand_off(item)
