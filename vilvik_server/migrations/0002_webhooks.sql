-- Webhooks: endpoints, the events an account's submissions raise, and a durable outbox.
-- An event is written in the same transaction as the state change that caused it, with
-- one delivery row per endpoint that wants it; the delivery loop claims due deliveries
-- with conditional UPDATEs (pending -> sending, with a lease), so a retry survives a
-- restart and two processes never send the same attempt.

CREATE TABLE webhook_endpoints (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    url TEXT NOT NULL,
    events TEXT NOT NULL DEFAULT '["*"]',          -- JSON list of event types; "*" is every type
    description TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    secret TEXT NOT NULL,                          -- whsec_<base64>; needed in clear to sign
    previous_secret TEXT,                          -- still signed with until previous_secret_expires_at
    previous_secret_expires_at TEXT,
    failure_count INTEGER NOT NULL DEFAULT 0,      -- deliveries that failed for good
    last_success_at TEXT,
    last_failure_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints(account_id, seq);

-- Signs the one-off webhook_url deliveries of an account's submissions.
CREATE TABLE webhook_default_secrets (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,                       -- evt_...; also the webhook-id header
    account_id TEXT NOT NULL REFERENCES accounts(id),
    type TEXT NOT NULL,
    submission_id TEXT,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL,                            -- the exact JSON sent, so every retry is byte-identical
    delivered_at TEXT                              -- first 2xx from any receiver
);
CREATE INDEX events_account ON events(account_id, seq);
CREATE INDEX events_account_type ON events(account_id, type, seq);

CREATE TABLE webhook_deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    endpoint_id TEXT REFERENCES webhook_endpoints(id) ON DELETE CASCADE,  -- NULL: a submission's webhook_url
    url TEXT,                                      -- the one-off target (endpoints use their current url)
    redelivery_of TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'succeeded', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,                          -- pending: when it is due
    lease_until TEXT,                              -- sending: reclaimable after this (its sender died)
    claim TEXT,                                    -- sending: the token of the sender holding it
    error TEXT,                                    -- failed: why it ended without a 2xx
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, seq);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);

CREATE TABLE webhook_attempts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status_code INTEGER,
    latency_ms REAL,
    error TEXT,
    response_excerpt TEXT,
    next_retry_at TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, seq);

-- A one-off webhook on a submission (POST /submissions webhook_url, webhook_events).
ALTER TABLE submissions ADD COLUMN webhook_url TEXT;
ALTER TABLE submissions ADD COLUMN webhook_events TEXT;  -- JSON list; NULL is every submission event
