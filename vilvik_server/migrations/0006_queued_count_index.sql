-- What the accept counts against MAX_QUEUED (store/submissions.queued_entries): an
-- account's queued submissions outside experiments plus its experiments with a queued
-- run. Without this index each queued row was read from the table to test experiment_id,
-- so an accept cost grew by about a microsecond per queued submission of its account;
-- with it the count reads only index entries of queued rows.
CREATE INDEX submissions_queued_by_account ON submissions(account_id, experiment_id, status) WHERE status = 'queued';
