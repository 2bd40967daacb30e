-- Experiments: many seeded runs of one job as one object, with statistics.
-- Each run is an ordinary submission carrying experiment_id; experiment_runs maps it to
-- its grid cell and seed and, once the run has ended, holds what the statistics need
-- (its best fitness, generations, and best-so-far fitness per generation as packed
-- float64), so reading an experiment never parses a result body.

CREATE TABLE experiments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL DEFAULT '',
    metadata TEXT NOT NULL DEFAULT '{}',
    base TEXT NOT NULL,                 -- the POST /submissions body every run starts from (JSON)
    grid TEXT NOT NULL DEFAULT '{}',    -- {parameter: [values]} in the order given (JSON)
    cells TEXT NOT NULL,                -- [{parameter: value}] one per grid cell, in cell order (JSON)
    seeds TEXT NOT NULL,                -- the seeds every cell runs with (JSON list)
    seed INTEGER,                       -- with repeats: what the seeds were derived from
    runs_total INTEGER NOT NULL,
    reserved_micros INTEGER NOT NULL DEFAULT 0,  -- held for every run at accept
    webhook_url TEXT,                   -- the base's one-off webhook, also told of experiment.completed
    webhook_events TEXT,
    created_at TEXT NOT NULL,
    cancelled_at TEXT,
    completed_at TEXT                   -- when its last run ended (experiment.completed was recorded)
);
CREATE INDEX experiments_account ON experiments(account_id, seq);

CREATE TABLE experiment_runs (
    submission_id TEXT PRIMARY KEY,
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    cell INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    ended INTEGER NOT NULL DEFAULT 0,   -- 1 once the run is terminal and the columns below are filled
    best_fitness REAL,                  -- the ranked value (the first objective of multi-objective runs)
    generations_completed INTEGER,
    history BLOB,                       -- float64 best-so-far fitness per generation (little-endian)
    best_solution TEXT,                 -- JSON
    best_solution_fitness TEXT          -- JSON (a number, or one per objective)
);
CREATE INDEX experiment_runs_experiment ON experiment_runs(experiment_id, cell);

ALTER TABLE submissions ADD COLUMN experiment_id TEXT;
CREATE INDEX submissions_experiment ON submissions(experiment_id, status) WHERE experiment_id IS NOT NULL;
