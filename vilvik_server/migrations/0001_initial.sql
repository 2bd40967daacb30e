-- Accounts, API keys, the credit ledger, submissions and results.
-- Money is integer micro-credits. An account's available_micros is the sum of its
-- ledger; reserved_micros is what queued and running submissions hold back, moved
-- out of available by a `reserve` row and back by `release` or `refund`.
-- `seq` columns give every list a stable, never-reused order for cursor pagination.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT,
    available_micros INTEGER NOT NULL DEFAULT 0 CHECK (available_micros >= 0),
    reserved_micros INTEGER NOT NULL DEFAULT 0 CHECK (reserved_micros >= 0),
    created_at TEXT NOT NULL
);

CREATE TABLE api_keys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL DEFAULT '',
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_keys_account ON api_keys(account_id, seq);

CREATE TABLE credit_ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('grant', 'reserve', 'release', 'charge', 'refund', 'adjustment')),
    amount_micros INTEGER NOT NULL,
    balance_after_micros INTEGER NOT NULL,
    submission_id TEXT,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX credit_ledger_account ON credit_ledger(account_id, seq);

CREATE TABLE submissions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT 'custom',
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    params TEXT NOT NULL,
    fitness_func TEXT NOT NULL,
    fitness_func_entry TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    parent_id TEXT,
    problem TEXT,
    problem_params TEXT,
    limits TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    generations_completed INTEGER NOT NULL DEFAULT 0,
    best_fitness TEXT,
    mean_fitness TEXT,
    progress_updated_at TEXT,
    cpu_seconds REAL,
    wall_seconds REAL,
    peak_memory_bytes INTEGER,
    reserved_micros INTEGER NOT NULL DEFAULT 0,
    credits_charged_micros INTEGER,
    error TEXT,
    versions TEXT,
    sandbox TEXT,
    logs TEXT
);
CREATE INDEX submissions_account ON submissions(account_id, seq);
CREATE INDEX submissions_account_status ON submissions(account_id, status, seq);
CREATE INDEX submissions_queue ON submissions(status, seq);

CREATE TABLE results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    submission_id TEXT NOT NULL UNIQUE REFERENCES submissions(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at TEXT NOT NULL,
    body TEXT NOT NULL,
    -- What a continuation resumes from: the random generators' states, as JSON data.
    resume_state TEXT
);
CREATE INDEX results_account ON results(account_id, seq);
CREATE INDEX submissions_parent ON submissions(parent_id) WHERE parent_id IS NOT NULL;

-- Idempotency-Key: the first response to a key, replayed for 24 hours.
CREATE TABLE idempotency_keys (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status_code INTEGER,  -- NULL while the first request is still being processed
    response_body TEXT,
    response_headers TEXT,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
