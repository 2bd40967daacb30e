"""Every setting: its name, default, parser and one line of help.

Settings load from these defaults, then `instance/config.py`, then `VILVIK_<NAME>_FILE`
(the value read from that file), then `VILVIK_<NAME>` environment variables. Values are parsed strictly: a malformed one stops start-up
with a message naming it.
"""
import os
import re
import secrets
from dataclasses import dataclass
from typing import Any, Callable

from vilvik_sandbox.privileges import MAX_SLOTS, UID_BASE


class ConfigError(Exception):
    """A setting has a value that cannot be used."""


def parse_bool(text):
    """Parse true/false/1/0/yes/no/on/off (any case)."""
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _int_at_least(minimum):
    def parse(text):
        if isinstance(text, bool):
            raise ValueError("expected an integer")
        value = int(str(text).strip()) if not isinstance(text, int) else text
        if value < minimum:
            raise ValueError(f"must be >= {minimum}")
        return value
    return parse


def _int_between(minimum, maximum):
    at_least = _int_at_least(minimum)

    def parse(text):
        value = at_least(text)
        if value > maximum:
            raise ValueError(f"must be <= {maximum}")
        return value
    return parse


def _positive_float(text):
    value = float(text)
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError("must be a positive finite number")
    return value


def _non_negative_float(text):
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise ValueError("must be a non-negative finite number")
    return value


def _url(text):
    text = str(text).strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        raise ValueError("expected an http(s) URL such as http://127.0.0.1:5000")
    return text


def _rate(text):
    text = str(text).strip()
    if not re.fullmatch(r"[1-9][0-9]*\s*/\s*(second|minute|hour)", text):
        raise ValueError("expected N/second, N/minute or N/hour")
    return text


def _seconds_list(text):
    if isinstance(text, (list, tuple)):
        values = [float(v) for v in text]
    else:
        values = [float(part) for part in str(text).split(",") if part.strip()]
    if not values or any(v < 0 for v in values):
        raise ValueError("expected a comma-separated list of non-negative seconds")
    return values


def _text(text):
    return str(text)


def _executor(text):
    text = str(text).strip().lower()
    if text not in ("local", "celery"):
        raise ValueError("expected local or celery")
    return text


def _broker_url(text):
    text = str(text).strip()
    if text and not re.fullmatch(r"(redis|rediss|redis\+socket)://\S+", text):
        raise ValueError("expected a Redis URL: redis://host:6379/0, rediss://... for TLS")
    return text


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str


SETTINGS = [
    Setting("PUBLIC_URL", None, _url,
            "Base of every absolute URL the API returns (status_url, result_url, next_url, webhook links);"
            " default: the address `serve` listens on."),
    Setting("DATABASE", None, _text,
            "Path of the SQLite database; default vilvik.sqlite3 in the instance folder."),
    Setting("SECRET_KEY", None, _text,
            "Signs website sessions; default a random key kept in the instance folder."),
    Setting("WORKERS", os.cpu_count() or 1, _int_at_least(0),
            "Concurrent runs on this node; 0 runs no executor (an accept-only node). A worker's default --concurrency."),
    Setting("EXECUTOR", "local", _executor,
            "Where jobs run: local (this server's thread pool) or celery (`vilvik-server worker` processes, "
            "through BROKER_URL; see docs/scaling.md)."),
    Setting("BROKER_URL", "", _broker_url,
            "Redis the control plane and the workers share when EXECUTOR=celery (redis://, rediss:// for TLS); "
            "keep it private. Also read from VILVIK_BROKER_URL_FILE."),
    Setting("MAX_BODY_BYTES", 262144, _int_at_least(1024), "Largest accepted request body, in bytes."),
    Setting("MAX_CPU_SECONDS", 300, _int_at_least(1), "CPU seconds one run may ask for (limits.cpu_seconds), at most."),
    Setting("DEFAULT_CPU_SECONDS", 60, _int_at_least(1),
            "CPU seconds a run may use when it sets no limits.cpu_seconds (never above MAX_CPU_SECONDS)."),
    Setting("MAX_WALL_SECONDS", 600, _int_at_least(1), "Wall-clock seconds one run may take."),
    Setting("MAX_MEMORY_MB", 512, _int_at_least(16), "Memory one run may use, in MiB."),
    Setting("MAX_RESULT_BYTES", 32 * 1024 * 1024, _int_at_least(65536),
            "Largest output a run may send back (progress and result), in bytes."),
    Setting("SHUTDOWN_GRACE_SECONDS", 20, _non_negative_float,
            "On SIGTERM, how long running jobs may finish before they are stopped and re-queued."),
    Setting("LEASE_SECONDS", 30, _positive_float,
            "How long a running submission stays its owner's without a renewal; then it is re-queued."),
    Setting("RATE_LIMIT", "600/minute", _rate, "Requests per key: N/second, N/minute or N/hour."),
    Setting("ACCOUNT_RATE_LIMIT", "1200/minute", _rate,
            "Requests per account, all its keys together: N/second, N/minute or N/hour."),
    Setting("LOGIN_RATE_LIMIT", "10/minute", _rate,
            "Failed website logins allowed per address and per email: N/second, N/minute or N/hour."),
    Setting("RATE_LIMIT_STORAGE_URI", "memory://", _text,
            "Where request counts live; memory:// for one process, e.g. redis://host:6379 for several."),
    Setting("MAX_SOL_PER_POP", 1000, _int_at_least(2), "Largest sol_per_pop a run may ask for."),
    Setting("MAX_NUM_GENES", 1000, _int_at_least(1), "Largest num_genes a run may ask for."),
    Setting("MAX_EVALUATIONS", 1_000_000, _int_at_least(1),
            "Largest num_generations x sol_per_pop a run may ask for."),
    Setting("MAX_FITNESS_SOURCE_BYTES", 65536, _int_at_least(256), "Largest fitness_func source, in bytes."),
    Setting("THREADS", 16, _int_at_least(2), "waitress threads serving requests (serve --threads overrides it)."),
    Setting("MAX_EVENT_STREAMS", 4, _int_at_least(1),
            "Open progress event streams at once; each holds a serving thread (keep it under THREADS)."),
    Setting("MAX_EVENT_STREAMS_PER_ACCOUNT", 2, _int_at_least(1),
            "Open progress event streams one account may hold; past it 429 concurrency_limit."),
    Setting("MAX_WAITS", 8, _int_at_least(0),
            "Requests held open at once by 'Prefer: wait' (each holds a serving thread); past it 202 at once."),
    Setting("MAX_WAITS_PER_ACCOUNT", 2, _int_at_least(0),
            "Requests one account may hold open with 'Prefer: wait'; past it 202 at once."),
    Setting("MAX_ACTIVE", 4, _int_at_least(1), "Running submissions per account."),
    Setting("MAX_QUEUED", 100, _int_at_least(1), "Queued submissions per account."),
    Setting("MAX_EXPERIMENT_RUNS", 200, _int_at_least(1), "Runs one experiment may hold (grid cells x seeds)."),
    Setting("CREDITS_PER_CPU_SECOND", 1.0, _positive_float, "Price of one CPU second, in credits."),
    Setting("MIN_CHARGE", 0.01, _non_negative_float, "Least charge for a run that started, in credits."),
    Setting("WEBHOOK_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,50400,72000,86400", _seconds_list,
            "Seconds before each webhook retry, comma-separated."),
    Setting("WEBHOOK_ALLOW_PRIVATE", False, parse_bool, "Allow private and loopback webhook targets."),
    Setting("WEBHOOK_TIMEOUT_SECONDS", 15.0, _positive_float,
            "Hard deadline of one webhook attempt (connect, send, the receiver's whole answer), in seconds."),
    Setting("WEBHOOK_IN_FLIGHT_PER_ACCOUNT", 4, _int_at_least(1),
            "Webhook deliveries of one account sent at once (of 16 senders), so slow receivers delay no one else."),
    Setting("WEBHOOK_DELIVERY", True, parse_bool,
            "Send webhook deliveries from this process (off: another process sends the outbox)."),
    Setting("SANDBOX_UID_BASE", 60000, _int_between(UID_BASE, UID_BASE + MAX_SLOTS - 1),
            "First uid of this node's jobs when run as root: slot n runs as SANDBOX_UID_BASE + n. "
            "Give every server or worker on one machine a range of its own (WORKERS uids wide)."),
    Setting("SANDBOX_ALLOW_DEGRADED", False, parse_bool,
            "Run jobs even when a sandbox layer is missing (logs loudly; never on a shared host)."),
    Setting("METRICS_ENABLED", False, parse_bool, "Serve GET /metrics in the Prometheus text format."),
    Setting("METRICS_TOKEN", "", _text, "If set, /metrics needs it as 'Authorization: Bearer <token>'."),
    Setting("LOG_LEVEL", "INFO", _text, "Logging level of the server (DEBUG, INFO, WARNING, ...)."),
]

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}


def load_settings(instance_path, overrides=None, environ=None):
    """Defaults, then instance/config.py, then VILVIK_* variables, then `overrides`.

    Without an `instance_path` (a worker) there is no config file, database or secret key.
    """
    environ = os.environ if environ is None else environ
    values = {setting.name: setting.default for setting in SETTINGS}
    raw = {}
    config_file = os.path.join(instance_path, "config.py") if instance_path else None
    if config_file and os.path.exists(config_file):
        namespace = {}
        with open(config_file) as handle:
            exec(compile(handle.read(), config_file, "exec"), namespace)
        raw.update({k: v for k, v in namespace.items() if k in SETTINGS_BY_NAME})
    for name in SETTINGS_BY_NAME:
        if f"VILVIK_{name}_FILE" in environ:  # secrets from a file (container secrets, systemd credentials)
            raw[name] = _read_secret_file(name, environ[f"VILVIK_{name}_FILE"])
        if f"VILVIK_{name}" in environ:
            raw[name] = environ[f"VILVIK_{name}"]
    raw.update(overrides or {})
    for name in SETTINGS_BY_NAME.keys() - raw.keys():  # defaults go through the same parsers
        default = SETTINGS_BY_NAME[name].default
        values[name] = None if default is None else SETTINGS_BY_NAME[name].parse(default)
    for name, value in raw.items():
        setting = SETTINGS_BY_NAME.get(name)
        if setting is None:
            raise ConfigError(f"unknown setting {name}")
        try:
            values[name] = None if value is None else setting.parse(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"setting {name}={value!r} is invalid: {exc}") from None
    if values["SANDBOX_UID_BASE"] + values["WORKERS"] > UID_BASE + MAX_SLOTS:
        raise ConfigError(f"settings SANDBOX_UID_BASE + WORKERS must stay within the jail's uids "
                          f"({UID_BASE}..{UID_BASE + MAX_SLOTS - 1})")
    if values["EXECUTOR"] == "celery" and not values["BROKER_URL"]:
        raise ConfigError("setting EXECUTOR=celery needs BROKER_URL (e.g. redis://127.0.0.1:6379/0)")
    if not instance_path:
        return values
    if not values["DATABASE"]:
        values["DATABASE"] = os.path.join(instance_path, "vilvik.sqlite3")
    if not values["SECRET_KEY"]:
        values["SECRET_KEY"] = _instance_secret(instance_path)
    return values


def _read_secret_file(name, path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError as exc:
        raise ConfigError(f"setting {name}: cannot read VILVIK_{name}_FILE={path}: {exc.strerror}") from None


def _instance_secret(instance_path):
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        os.makedirs(instance_path, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    with open(path) as handle:
        return handle.read().strip()


def settings_table():
    """Every setting as a Markdown table (docs/operating.md holds a copy; a test keeps them equal)."""
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for setting in SETTINGS:
        default = {None: "(see meaning)", "": "(empty)"}.get(setting.default, setting.default) \
            if not isinstance(setting.default, bool) else str(setting.default).lower()
        if setting.name == "WORKERS":
            default = "number of CPU cores"
        lines.append(f"| `{setting.name}` | `{default}` | {setting.help} |")
    return "\n".join(lines)
