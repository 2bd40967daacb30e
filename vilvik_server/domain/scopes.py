"""The scopes an API key can carry."""

SCOPES = (
    "submissions:read", "submissions:write", "results:read", "credits:read",
    "webhooks:read", "webhooks:write", "keys:write",
)
