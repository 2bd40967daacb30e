"""Hostile fitness functions run against a real server: each must be contained, and the server must go on."""
