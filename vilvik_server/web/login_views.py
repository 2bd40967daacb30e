"""Log in and log out. Failed logins are rate limited per address and per email."""
from flask import Blueprint, current_app, redirect, render_template, request

from . import session

blp = Blueprint("web_login", __name__, template_folder="templates")


@blp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; on success, the page the visitor came for."""
    if request.method == "GET":
        if session.current_account() is not None:
            return redirect(session.safe_next(request.args.get("next")))
        return render_template("web/login.html", next=request.args.get("next", ""), email="")
    email = request.form.get("email", "")
    conn = current_app.extensions["vilvik"].db.connection()
    account = session.check_credentials(conn, email, request.form.get("password", ""))
    if account is None:
        return render_template("web/login.html", next=request.form.get("next", ""), email=email,
                               error="The email or password is not right."), 401
    session.log_in(account)
    return redirect(session.safe_next(request.form.get("next")))


def limit_logins(limiter, rate):
    """Count failed login attempts (any answer but a redirect) per address and per email."""
    failed = lambda response: response.status_code != 302  # noqa: E731
    for key in (_address, _email):
        limiter.limit(rate, key_func=key, methods=["POST"], deduct_when=failed, scope=key.__name__)(blp)


def _address():
    return "login-address:" + (request.remote_addr or "")


def _email():
    return "login-email:" + request.form.get("email", "").strip().lower()
