"""What the requests answered beneath Flask (status_read.py, plain_accept.py) share with Flask's path.

Each takes the steps Flask's hooks and decorators take, with the same functions in the same
order, and hands a request to Flask at the first refusal. Kept here once, so both paths stay
what Flask does: the key's rate-limit window, the key lookup, the account's window, the
key's last use, the scope; then the same JSON, headers and request log line.
"""
import logging
import time

from .. import auth, http, ratelimit


def json_dumps(flask_app):
    """A body's JSON as the app's provider dumps it in response(): indented in debug mode, else compact."""
    provider = flask_app.json
    pretty = (provider.compact is None and flask_app.debug) or provider.compact is False
    dump_args = {"indent": 2} if pretty else {"separators": (",", ":")}
    return lambda body: provider.dumps(body, **dump_args)


def admit(services, environ, scope):
    """The steps of ratelimit._check_key, auth.authenticate and auth.require_scope, in their order.

    Returns (key, key window, account window), or None where Flask would refuse (it then answers).
    A window counted here is handed on in the environ (ratelimit.COUNTED_*): Flask does not
    count it again.
    """
    token = auth.bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
    if token is None:
        return None
    limits = services.limiter
    key_window = environ[ratelimit.COUNTED_KEY_WINDOW] = ratelimit.count_key(limits, token)
    if not key_window.allowed:
        return None
    key = services.keys.find_active(token)
    if key is None:
        return None
    account_window = environ[ratelimit.COUNTED_ACCOUNT_WINDOW] = ratelimit.count_account(limits, key["account_id"])
    if not account_window.allowed:
        return None
    auth.touch_last_used(services.db, key)
    if scope not in key["scopes"].split():
        return None
    return key, key_window, account_window


def answer(environ, method, path, code, started, admitted, payload, headers=()):
    """The response headers for `payload` (JSON) with `headers` besides, as Flask's hooks set them, and the
    request log line."""
    key, key_window, account_window = admitted
    request_id = http.request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
    window = ratelimit.closer_to_refusing(key_window, account_window)
    if http.log.isEnabledFor(logging.INFO):
        http.log_request(method, path, code, (time.monotonic() - started) * 1000, request_id, key["prefix"])
    return [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *headers,
            *window.headers().items(), ("X-Request-Id", request_id)]
