"""The client's resources: one object per API collection, attached to `Client` by name."""
from .account import AccountResource, CreditsResource, KeysResource
from .experiments import ExperimentsResource
from .quick import QuickResource
from .submissions import ResultsResource, SubmissionsResource
from .webhooks import EventsResource, WebhooksResource

__all__ = ["AccountResource", "CreditsResource", "EventsResource", "ExperimentsResource", "KeysResource", "QuickResource",
           "ResultsResource", "SubmissionsResource", "WebhooksResource"]
