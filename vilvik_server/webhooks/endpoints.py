"""What a user does to webhook endpoints: the service functions the API and the website share."""
from .. import errors
from ..store import webhooks as webhook_store
from . import events, signing

MAX_ENDPOINTS = 20  # per account: every event is sent once per endpoint


def get(conn, account_id, webhook_id):
    """The account's endpoint, or 404."""
    row = webhook_store.get_endpoint(conn, account_id, webhook_id)
    if row is None:
        raise errors.NotFound(f"no webhook endpoint {webhook_id}")
    return row


def create(services, account_id, data):
    """Register an endpoint; returns (row, its signing secret), the secret shown this once."""
    secret = signing.new_secret()
    with services.db.transaction() as conn:
        if webhook_store.count_endpoints(conn, account_id) >= MAX_ENDPOINTS:
            raise errors.QuotaExceeded(f"an account may have at most {MAX_ENDPOINTS} webhook endpoints",
                                       details={"quota": "webhook_endpoints", "limit": MAX_ENDPOINTS})
        return webhook_store.create_endpoint(conn, account_id, secret=secret, **data), secret


def rotate_secret(services, account_id, webhook_id):
    """A new signing secret; the old one keeps signing too until the overlap ends. Returns (row, secret)."""
    secret = signing.new_secret()
    with services.db.transaction() as conn:
        get(conn, account_id, webhook_id)
        return webhook_store.rotate_secret(conn, account_id, webhook_id, secret,
                                           signing.rotation_overlap_end()), secret


def send_ping(services, account_id, webhook_id):
    """Queue a `ping` event for one enabled endpoint; returns its delivery row."""
    with services.db.transaction() as conn:
        _enabled(conn, account_id, webhook_id)
        delivery = events.record_ping(conn, account_id, webhook_id)
    _wake(services)
    return delivery


def redeliver(services, account_id, webhook_id, delivery_id):
    """Send a delivery's event again as a new delivery; returns (delivery row, event type)."""
    with services.db.transaction() as conn:
        _enabled(conn, account_id, webhook_id)
        original = webhook_store.get_delivery(conn, account_id, webhook_id, delivery_id)
        if original is None:
            raise errors.NotFound(f"no delivery {delivery_id} for webhook endpoint {webhook_id}")
        delivery = webhook_store.insert_delivery(conn, account_id, original["event_id"], endpoint_id=webhook_id,
                                                 redelivery_of=delivery_id)
    _wake(services)
    return delivery, original["event_type"]


def _enabled(conn, account_id, webhook_id):
    row = get(conn, account_id, webhook_id)
    if not row["enabled"]:
        raise errors.Conflict("the endpoint is disabled; enable it first",
                              details={"enabled": False, "disabled_reason": row["disabled_reason"]})
    return row


def _wake(services):
    if getattr(services, "deliveries", None) is not None:
        services.deliveries.wake()
