"""The official Python SDK for Vilvik: run PyGAD genetic algorithms with your own fitness function.

    import vilvik

    client = vilvik.Client()          # $VILVIK_API_KEY, $VILVIK_BASE_URL
    submission = client.submissions.create(fitness_func=source, num_generations=50, ...)
    result = submission.wait().result()

Only dependency: requests. Nothing connects before the first request.
"""
__version__ = "0.1.0"

from . import webhooks  # noqa: E402  (vilvik.webhooks.verify)
from .client import Client  # noqa: E402
from .errors import *  # noqa: E402,F401,F403
from .errors import __all__ as _error_names  # noqa: E402
from .experiment import Cell, Experiment  # noqa: E402
from .objects import (Account, ApiKey, Credits, Event, LedgerEntry, Progress, QuickProblem, Result,  # noqa: E402
                      RunError, ServerSentEvent, WebhookDelivery, WebhookEndpoint)
from .pagination import ListIterator, Page  # noqa: E402
from .submission import TERMINAL_STATUSES, Submission  # noqa: E402

__all__ = ["Client", "Submission", "Experiment", "Cell", "Result", "Account", "Credits", "LedgerEntry", "ApiKey", "WebhookEndpoint",
           "WebhookDelivery", "Event", "QuickProblem", "Progress", "RunError", "ServerSentEvent", "Page",
           "ListIterator", "TERMINAL_STATUSES", "webhooks", "__version__", *_error_names]
