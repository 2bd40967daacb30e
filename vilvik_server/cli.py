"""The `vilvik-server` command: init, serve, worker, create-account, create-key, grant-credits."""
import argparse
import json
import logging
import os
import signal
import sys

log = logging.getLogger("vilvik.cli")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="vilvik-server", description="Operate a Vilvik server.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create or migrate the database (idempotent)")
    serve = commands.add_parser("serve", help="serve the API with waitress, running jobs")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--threads", type=int, help="default: the THREADS setting")
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
    from waitress import create_server

    app = _app(start_executor=True)
    services = app.extensions["vilvik"]
    threads = args.threads or services.settings["THREADS"]
    server = create_server(app, host=args.host, port=args.port, threads=threads, ident="vilvik")

    def stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"serving on http://{server.effective_host}:{server.effective_port}", flush=True)
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        log.info("stopping: no new work; running jobs get %ss to finish", services.settings["SHUTDOWN_GRACE_SECONDS"])
        server.close()
        from . import runs_jobs

        if runs_jobs(services.settings):
            services.executor.stop()
        services.deliveries.stop()
        log.info("stopped")
    return 0


def cmd_create_account(args):
    from .auth import SCOPES
    from .store import accounts, keys

    app = _app()
    db = app.extensions["vilvik"].db
    password_hash = None
    if args.password:
        from werkzeug.security import generate_password_hash

        password_hash = generate_password_hash(args.password)
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
    from .ids import micros_to_credits
    from .store import accounts

    micros = _amount(args.amount)
    if micros <= 0:
        raise CommandError("the amount must be positive")
    db = _app().extensions["vilvik"].db
    with db.transaction() as conn:
        account = _account(conn, args.email)
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

    from .ids import credits_to_micros

    try:
        micros = credits_to_micros(text)
    except (InvalidOperation, ValueError):
        raise CommandError(f"not an amount of credits: {text!r}") from None
    if micros < 0:
        raise CommandError("the amount must not be negative")
    return micros


def cmd_worker(args):
    from . import _configure_logging
    from .config import load_settings
    from .workers import command

    _configure_logging(load_settings(None)["LOG_LEVEL"])
    return command.main(args)


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
            "create-key": cmd_create_key, "grant-credits": cmd_grant_credits}


if __name__ == "__main__":
    sys.exit(main())
