"""Celery workers: run jobs sent by a control plane (EXECUTOR=celery) in this machine's sandbox.

A worker imports the engine and the sandbox, never Flask, the database or the server's
secrets: it needs only BROKER_URL and the run-limit settings.
"""
