"""The status vocabulary of a submission, and of a webhook delivery."""
import enum


class Status(str, enum.Enum):
    """Where a submission is: queued, then running, then one of the three terminal statuses.

    A str Enum: it compares equal to the string stored in the database and sent in JSON.
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    __hash__ = str.__hash__  # Enum hashes the member's name: a "failed" key must find Status.FAILED

    def __str__(self):
        return self.value

    @property
    def terminal(self):
        return self in TERMINAL


TERMINAL = tuple(status.value for status in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED))
STATUSES = tuple(status.value for status in Status)


class DeliveryStatus(str, enum.Enum):
    """Where a webhook delivery is: pending (maybe between retries), sending, then succeeded or failed."""

    PENDING = "pending"
    SENDING = "sending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    __hash__ = str.__hash__

    def __str__(self):
        return self.value


DELIVERY_STATUSES = tuple(status.value for status in DeliveryStatus)
