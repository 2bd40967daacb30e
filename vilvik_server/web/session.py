"""Who is logged in: a signed session cookie naming the account, checked against the database.

The cookie holds the account id and a fingerprint of the account's password hash,
so setting a new password logs out every browser that used the old one. Log in
starts a fresh session (no fixation); log out clears it.
"""
import functools
import hashlib
import hmac

from flask import current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import check_password_hash, generate_password_hash

from ..store import accounts as account_store

class PagesOnlySessions(SecureCookieSessionInterface):
    """The signed cookie session, opened for pages only: the API authenticates every request
    with its Bearer key and never reads or sets a cookie, so its requests get Flask's null
    session (empty; writing to it raises) without building a signing serializer."""

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


# Compared against when the email is unknown, so an unknown email takes as long as a wrong password.
_DUMMY_HASH = None


def _fingerprint(account):
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, (account["password_hash"] or "").encode(), hashlib.sha256).hexdigest()[:32]


def check_credentials(conn, email, password):
    """The account with this email and password, or None."""
    global _DUMMY_HASH
    account = account_store.get_by_email(conn, email.strip()) if email else None
    if account is None or not account["password_hash"]:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = generate_password_hash("not a password")
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return account if check_password_hash(account["password_hash"], password or "") else None


def log_in(account):
    session.clear()
    session.permanent = True
    session["account_id"] = account["id"]
    session["auth"] = _fingerprint(account)
    g.web_account = account


def log_out():
    session.clear()
    g.web_account = None


def current_account():
    """The logged-in account's row, or None."""
    if "web_account" not in g:
        g.web_account = None
        account_id = session.get("account_id")
        if account_id:
            db = current_app.extensions["vilvik"].db
            account = account_store.get(db.connection(), account_id)
            if account is not None and hmac.compare_digest(session.get("auth", ""), _fingerprint(account)):
                g.web_account = account
    return g.web_account


def login_required(view):
    """Decorate a page: without a session, go to the login page and come back after."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        account = current_account()
        if account is None:
            return redirect(url_for("web_login.login", next=request.full_path.rstrip("?")))
        g.account_id = account["id"]
        return view(*args, **kwargs)
    return wrapper


def safe_next(target):
    """Only a path on this site may be a post-login destination (no open redirects).

    The target is read as a browser would read it in a Location header (leading and
    trailing spaces and C0 controls dropped, tab/CR/LF removed anywhere, a backslash
    taken as a slash); only a path starting with exactly one slash, with no control
    character left, passes, and it is returned in that normalised form.
    """
    fallback = url_for("web.dashboard")
    if not target:
        return fallback
    normal = target.strip("".join(map(chr, range(0x21)))).translate(_DROPPED).replace("\\", "/")
    if not normal.startswith("/") or normal.startswith("//") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in normal):
        return fallback
    return normal


_DROPPED = {ord("\t"): None, ord("\n"): None, ord("\r"): None}
