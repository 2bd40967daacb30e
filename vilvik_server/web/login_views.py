"""Log in and log out. Failed logins are rate limited per address and per email."""
from flask import Blueprint, current_app, redirect, render_template, request

from .. import ratelimit
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
    ratelimit.refuse_login_when_full(_identities())
    conn = current_app.extensions["vilvik"].db.connection()
    account = session.check_credentials(conn, email, request.form.get("password", ""))
    if account is None:
        ratelimit.count_failed_login(_identities())
        return render_template("web/login.html", next=request.form.get("next", ""), email=email,
                               error="The email or password is not right."), 401
    session.log_in(account)
    return redirect(session.safe_next(request.form.get("next")))


def _identities():
    """Failed logins are counted per address and per email (LOGIN_RATE_LIMIT each)."""
    return ("address:" + (request.remote_addr or ""), "email:" + request.form.get("email", "").strip().lower())
