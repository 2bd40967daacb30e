"""CSRF protection for every form: a per-session token, and the Origin checked when a browser sends one.

Twenty lines of our own rather than Flask-WTF: its CSRFProtect guards the whole app
(every Bearer-token API view would need exempting), its tokens expire under an open
form, and it brings WTForms, which we do not use (marshmallow validates our forms).
"""
import hmac
import secrets
from urllib.parse import urlsplit

from flask import request, session

from ..errors import VilvikError

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class CsrfRefused(VilvikError):
    status, code = 403, "csrf_failed"
    message = "this form has expired or came from another site; reload the page and send it again"


def token():
    """This session's CSRF token, made on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def protect():
    """before_request: refuse an unsafe request without this session's token or from another origin."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise CsrfRefused("this form was sent from another site")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused()
