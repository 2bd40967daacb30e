"""The `vilvik-server` command: init, serve, worker, accounts, keys, credits, passwords, settings, backup."""
import argparse
import errno
import json
import logging
import os
import re
import signal
import sys

log = logging.getLogger("vilvik.cli")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="vilvik-server", description="Operate a Vilvik server.",
        epilog="Settings (VILVIK_<NAME>, VILVIK_<NAME>_FILE or instance/config.py) are listed by "
               "`vilvik-server settings`; EXECUTOR=local|celery and BROKER_URL choose where jobs run.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create or migrate the database (idempotent)")
    serve = commands.add_parser(
        "serve", help="serve the API, website and playground with waitress, running jobs",
        description="Serve the API, the website and the playground with waitress, with the executor "
                    "running jobs. Unless PUBLIC_URL is set, the URLs the API returns use the address "
                    "served here. SIGTERM or Ctrl-C stops taking work and exits. With EXECUTOR=celery "
                    "(and BROKER_URL) it is the control plane and `vilvik-server worker` processes run the "
                    "jobs (docs/scaling.md). One serve per instance folder.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for every "
                            "interface, then set PUBLIC_URL to the name clients use)")
    serve.add_argument("--port", type=int, default=5000, help="port to listen on (default 5000; 0 picks a free one)")
    serve.add_argument("--threads", type=int, help="request threads (default: the THREADS setting)")
    account = commands.add_parser("create-account", help="create an account and print a key with every scope")
    account.add_argument("email")
    account.add_argument("--credits", default="0")
    account.add_argument("--password")
    key = commands.add_parser("create-key", help="create an API key for an account")
    key.add_argument("email")
    key.add_argument("--scopes", help="comma-separated; default every scope")
    key.add_argument("--name", default="")
    grant = commands.add_parser("grant-credits", help="add credits to an account")
    grant.add_argument("email")
    grant.add_argument("amount")
    grant.add_argument("--note", default="")
    commands.add_parser("list-accounts", help="print every account as a JSON line: email, credits, keys, password set")
    revoke = commands.add_parser("revoke-key", help="revoke an API key at once, by its id or the key itself")
    revoke.add_argument("key", help="the key's id (as create-key printed it) or the vk_... secret")
    password = commands.add_parser("set-password", help="set an account's website password")
    password.add_argument("email")
    password.add_argument("--password", help="the new password (default: asked for on the terminal)")
    commands.add_parser("settings", help="print every setting with its default and help, as a Markdown table")
    worker = commands.add_parser(
        "worker", help="run jobs for a control plane (EXECUTOR=celery) as a Celery worker; needs only BROKER_URL "
                       "and the run-limit settings (docs/scaling.md)")
    worker.add_argument("--concurrency", type=int, help="worker processes, one job each; default the WORKERS setting")
    worker.add_argument("--name", help="this worker's name; default vilvik@<host name>")
    backup = commands.add_parser("backup", help="copy the live database to PATH (SQLite's online backup)")
    backup.add_argument("path")
    args = parser.parse_args(argv)

    from .config import ConfigError
    from .db import DatabaseTooNew
    from .engine.leases import InstanceLocked

    try:
        return COMMANDS[args.command](args)
    except (ConfigError, DatabaseTooNew, CommandError, InstanceLocked) as exc:
        print(f"vilvik-server: {exc}", file=sys.stderr)
        return 2


class CommandError(Exception):
    """A command cannot do what was asked."""


def _app(**kwargs):
    from . import create_app

    return create_app(**kwargs)


def cmd_init(args):
    app = _app()
    print(f"database ready: {app.extensions['vilvik'].settings['DATABASE']}")
    return 0


def cmd_serve(args):
    from . import banner, public_url, serving

    app = _app(start_executor=True)
    services = app.extensions["vilvik"]
    threads = args.threads or services.settings["THREADS"]
    try:
        server = serving.make_server(app, args.host, args.port, threads, services.settings["MAX_BODY_BYTES"])
    except OSError as exc:
        _stop_work(services)
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {_bind_problem(exc)}") from None
    base = public_url.follow_served_address(app, args.host, server.effective_port)

    def stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"serving on {public_url.served_url(args.host, server.effective_port)}", flush=True)
    print(banner.text(app, base, args.host), flush=True)
    from .experiments import stats

    stats.warm_up()  # so the first experiment read does not pay for importing scipy
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        log.info("stopping: no new work; running jobs get %ss to finish", services.settings["SHUTDOWN_GRACE_SECONDS"])
        server.close()
        _stop_work(services)
        log.info("stopped")
    return 0


def _stop_work(services):
    """Stop the executor and the webhook sender that `serve` started."""
    from . import runs_jobs

    if runs_jobs(services.settings):
        services.executor.stop()
    services.deliveries.stop()


def _bind_problem(exc):
    """Why `serve` could not listen, and what to do about it, in words."""
    if exc.errno == errno.EADDRINUSE:
        return ("the address is in use (is another server running there? pick another port: "
                "--port N, or PORT=N scripts/run)")
    return (exc.strerror or str(exc)).lower()


def cmd_create_account(args):
    from .auth import SCOPES
    from .store import accounts, keys

    app = _app()
    db = app.extensions["vilvik"].db
    password_hash = None
    if args.password:
        from werkzeug.security import generate_password_hash

        password_hash = generate_password_hash(args.password)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", args.email):  # the website's login needs one (dev@localhost is one)
        raise CommandError(f"not an email address: {args.email!r}")
    with db.transaction() as conn:
        if accounts.get_by_email(conn, args.email):
            raise CommandError(f"an account for {args.email} exists already")
        account_id = accounts.create(conn, args.email, password_hash)
        micros = _amount(args.credits)
        if micros:
            accounts.add_to_balance(conn, account_id, micros, "grant", note="initial credits")
        _, secret = keys.create(conn, account_id, SCOPES, name="created with the account")
    print(json.dumps({"account_id": account_id, "api_key": secret}))
    return 0


def cmd_create_key(args):
    from .auth import SCOPES
    from .store import keys

    scopes = [s.strip() for s in args.scopes.split(",")] if args.scopes else list(SCOPES)
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise CommandError(f"unknown scopes {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    db = _app().extensions["vilvik"].db
    with db.transaction() as conn:
        account = _account(conn, args.email)
        key_id, secret = keys.create(conn, account["id"], scopes, name=args.name)
    print(json.dumps({"key_id": key_id, "api_key": secret}))
    return 0


def cmd_grant_credits(args):
    from .money import MAX_BALANCE_MICROS, MICROS, micros_to_credits
    from .store import accounts

    micros = _amount(args.amount)
    if micros <= 0:
        raise CommandError("the amount must be positive")
    db = _app().extensions["vilvik"].db
    with db.transaction() as conn:
        account = _account(conn, args.email)
        held = account["available_micros"] + account["reserved_micros"]
        if held + micros > MAX_BALANCE_MICROS:
            raise CommandError(f"an account holds at most {MAX_BALANCE_MICROS // MICROS} credits;"
                               f" {args.email} holds {micros_to_credits(held)} already")
        available = accounts.add_to_balance(conn, account["id"], micros, "grant", note=args.note)
    print(json.dumps({"account_id": account["id"], "balance": micros_to_credits(available + account["reserved_micros"]),
                      "available": micros_to_credits(available)}))
    return 0


def _account(conn, email):
    from .store import accounts

    account = accounts.get_by_email(conn, email)
    if account is None:
        raise CommandError(f"no account for {email}")
    return account


def _amount(text):
    from decimal import InvalidOperation

    from .money import MAX_BALANCE_MICROS, MICROS, credits_to_micros

    try:
        micros = credits_to_micros(text)
    except (InvalidOperation, ValueError):
        raise CommandError(f"not an amount of credits: {text!r}") from None
    if micros < 0:
        raise CommandError("the amount must not be negative")
    if micros > MAX_BALANCE_MICROS:
        raise CommandError(f"an account holds at most {MAX_BALANCE_MICROS // MICROS} credits; {text} is more")
    return micros


def cmd_worker(args):
    from . import _configure_logging
    from .config import load_settings
    from .workers import command

    _configure_logging(load_settings(None)["LOG_LEVEL"])
    return command.main(args)


def cmd_list_accounts(args):
    from .clock import rfc3339
    from .money import micros_to_credits
    from .store import accounts

    with _app().extensions["vilvik"].db.transaction() as conn:
        rows = accounts.list_all(conn)
    for row in rows:
        print(json.dumps({
            "account_id": row["id"], "email": row["email"], "created_at": rfc3339(row["created_at"]),
            "balance": micros_to_credits(row["available_micros"] + row["reserved_micros"]),
            "available": micros_to_credits(row["available_micros"]), "active_keys": row["active_keys"],
            "can_log_in": row["password_hash"] is not None}))
    return 0


def cmd_revoke_key(args):
    from .store import keys

    with _app().extensions["vilvik"].db.transaction() as conn:
        key = keys.find_by_id_or_secret(conn, args.key.strip())
        if key is None:
            raise CommandError("no such key (give its id, as create-key printed it, or the key itself)")
        revoked = keys.revoke(conn, key["account_id"], key["id"])
    print(json.dumps({"key_id": key["id"], "prefix": key["prefix"], "revoked": True,
                      "was_already_revoked": not revoked}))
    return 0


def cmd_set_password(args):
    from werkzeug.security import generate_password_hash

    from .store import accounts

    password = args.password
    if password is None:
        import getpass

        password = getpass.getpass(f"new password for {args.email}: ")
        if password != getpass.getpass("again: "):
            raise CommandError("the two passwords differ; nothing changed")
    if not password:
        raise CommandError("the password must not be empty")
    with _app().extensions["vilvik"].db.transaction() as conn:
        account = _account(conn, args.email)
        accounts.set_password_hash(conn, account["id"], generate_password_hash(password))
    print(json.dumps({"account_id": account["id"], "email": account["email"], "password_set": True}))
    return 0


def cmd_settings(args):
    from .config import settings_table

    print(settings_table())
    return 0


def cmd_backup(args):
    from . import db

    settings = _app().extensions["vilvik"].settings
    if os.path.exists(args.path):
        raise CommandError(f"{args.path} exists already; back up to a new file")
    pages = db.backup(settings["DATABASE"], args.path)
    print(json.dumps({"backup": os.path.abspath(args.path), "pages": pages}))
    return 0


COMMANDS = {"worker": cmd_worker, "backup": cmd_backup, "settings": cmd_settings, "init": cmd_init, "serve": cmd_serve, "create-account": cmd_create_account,
            "create-key": cmd_create_key, "grant-credits": cmd_grant_credits, "list-accounts": cmd_list_accounts,
            "revoke-key": cmd_revoke_key, "set-password": cmd_set_password}


if __name__ == "__main__":
    sys.exit(main())
