"""Where the API's absolute URLs point: PUBLIC_URL when it is set, else the address served.

`status_url`, `result_url`, `Location`, `next_url` and the links in webhook payloads
are built from one base. An operator's PUBLIC_URL always wins. Without it, `serve`
fills in the host and port it actually listens on, so `--port 5077` gives `:5077`
URLs. The request's Host header is never used: a webhook or a stored link built from
a header a client chose could send a receiver anywhere.
"""

FALLBACK = "http://127.0.0.1:5000"  # an app not started by `serve` (a test client, another WSGI server)
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def settle_default(app, settings):
    """At start-up: remember whether PUBLIC_URL was set, and fill in the fallback until `serve` binds."""
    app.config["VILVIK_PUBLIC_URL_SET"] = settings["PUBLIC_URL"] is not None
    if settings["PUBLIC_URL"] is None:
        settings["PUBLIC_URL"] = FALLBACK


def served_url(host, port):
    """The base URL of a listening address; a wildcard address becomes this machine's loopback."""
    host = _WILDCARDS.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def follow_served_address(app, host, port):
    """Called by `serve` once bound: unless PUBLIC_URL was set, URLs use this address. Returns the base."""
    settings = app.extensions["vilvik"].settings
    if not app.config.get("VILVIK_PUBLIC_URL_SET"):
        settings["PUBLIC_URL"] = served_url(host, port)
    return settings["PUBLIC_URL"]


def is_wildcard(host):
    return host in _WILDCARDS
