"""Tests of the `vilvik` SDK and CLI against a real server."""
