-- Durable run ownership: who runs a `running` submission, until when, and a cancel request.
-- The owner (a server's executor, or the Celery worker running it) renews lease_until
-- while the run lives; recovery re-queues only rows whose lease has expired, never a live
-- run of another process. A cancel is written here (cancel_requested_at) so that any
-- server process can cancel any run: its owner sees the request and stops the run.
ALTER TABLE submissions ADD COLUMN owner TEXT;
ALTER TABLE submissions ADD COLUMN lease_until TEXT;
ALTER TABLE submissions ADD COLUMN cancel_requested_at TEXT;
