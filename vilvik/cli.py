"""The `vilvik` command: submit jobs, follow them, read results, from a shell or a script.

Exit codes (also in `vilvik --help`):
  0  it worked (with --wait: the run succeeded)
  1  the run failed or was cancelled (submit/continue --wait, results of a failed run)
  2  usage error, or the API refused the request (validation, auth, credits, not found, ...)
  3  the server could not be reached
  4  --wait ran out of time (--timeout)
  130  interrupted (Ctrl-C); the run itself goes on
  141  the reader of stdout stopped before it was all written (`vilvik list | head -1`)
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__, cli_text
from .client import Client
from .errors import APIConnectionError, NotFoundError, RunFailedError, VilvikError, WaitTimeoutError
from .words import plural

OK, RUN_FAILED, USAGE, UNREACHABLE, TIMED_OUT = 0, 1, 2, 3, 4
STDOUT_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for a tool its reader stopped
EXIT_CODES = """exit codes:
  0  it worked (with --wait: the run succeeded)
  1  the run failed or was cancelled
  2  usage error, or the API refused the request
  3  the server could not be reached
  4  --wait ran out of time
  130  interrupted (Ctrl-C); the run goes on
  141  the reader of stdout stopped early (| head)"""


MISSING_KEY = ("no API key: set VILVIK_API_KEY (export VILVIK_API_KEY=vk_...) or pass --api-key vk_...; "
               "a server started with scripts/run keeps its development key in instance/dev-api-key")


class UsageError(Exception):
    """Bad command-line input found after argparse (a job file that is not a JSON object, ...)."""


def parse_assignment(text):
    """`k=v` with v read as JSON when it parses (numbers, lists, true/null), else as a string."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print machine-readable JSON on stdout (errors as JSON on stderr)")
    common.add_argument("--api-key", default=argparse.SUPPRESS,
                        help="API key (default: $VILVIK_API_KEY, or $VILVIK_KEY)")
    common.add_argument("--base-url", default=argparse.SUPPRESS,
                        help="API base URL, e.g. http://127.0.0.1:5000/api/v1 (default: $VILVIK_BASE_URL)")

    parser = argparse.ArgumentParser(prog="vilvik", parents=[common], epilog=EXIT_CODES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Run PyGAD genetic algorithms on a Vilvik server.")
    parser.add_argument("--version", action="version", version=f"vilvik {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name, help_text):
        return commands.add_parser(name, parents=[common], help=help_text, description=help_text)

    def wait_options(sub):
        sub.add_argument("--wait", action="store_true", help="wait for the run to end, showing its progress")
        sub.add_argument("--timeout", type=float, help="with --wait: give up after this many seconds (exit 4)")
        sub.add_argument("--cancel-on-timeout", action="store_true", help="with --timeout: cancel the run too")
        sub.add_argument("--poll-interval", type=float, default=0.5, help="seconds between polls (default 0.5)")
        sub.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                         help="draw the live progress line on stderr (default: when stderr is a terminal)")
        sub.add_argument("--set", dest="overrides", metavar="NAME=VALUE", action="append", default=[],
                         type=parse_assignment, help="set a body field, e.g. --set num_generations=50")

    submit = command("submit", "submit a job from a JSON file (PyGAD parameters and fitness_func)")
    submit.add_argument("job", nargs="?", help="the job as a JSON object; - reads stdin (optional with --quick)")
    submit.add_argument("--fitness-file", help="read fitness_func from this Python file")
    submit.add_argument("--quick", metavar="PROBLEM", help="use the quick builder's PROBLEM (see `vilvik problems`)")
    submit.add_argument("--param", dest="problem_params", metavar="NAME=VALUE", action="append", default=[],
                        type=parse_assignment, help="with --quick: a problem parameter")
    submit.add_argument("--name", help="the submission's name")
    wait_options(submit)

    command("status", "show a submission's status and progress").add_argument("id", help="the submission's id")
    results = command("results", "show a run's result (by submission id or result id)")
    results.add_argument("id", help="a submission id, or a result id")
    results.add_argument("--csv", action="store_true", help="print the per-generation history as CSV")
    command("cancel", "cancel a queued or running submission").add_argument("id", help="the submission's id")
    cont = command("continue", "run more generations from where a finished run ended")
    cont.add_argument("id", help="the finished submission's id")
    cont.add_argument("--generations", type=int, required=True, help="how many more generations")
    wait_options(cont)
    listing = command("list", "list your submissions, newest first")
    listing.add_argument("--status", help="only this status (queued, running, succeeded, failed, cancelled)")
    listing.add_argument("--name", help="only names starting with this")
    listing.add_argument("--limit", type=int, default=20, help="show at most this many (default 20)")
    command("account", "show your credits and limits")
    command("problems", "list the quick builder's problems")
    experiment_commands(command("experiment", "run one job over many seeds and a grid of parameters"), common)
    return parser


def experiment_commands(parser, common):
    """`vilvik experiment run | show | cancel | history`."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser("run", parents=[common], help="start an experiment from a job file",
                             description="Start an experiment: the job in the file runs once per grid cell and seed.")
    run.add_argument("job", help="the base job as a JSON object (as for `vilvik submit`); - reads stdin")
    seeds = run.add_mutually_exclusive_group(required=True)
    seeds.add_argument("--repeats", type=int, help="runs per grid cell (seeds derived from --seed)")
    seeds.add_argument("--seeds", type=_int_list, help="the seeds, comma-separated, e.g. 1,2,3")
    run.add_argument("--seed", type=int, help="with --repeats: the seed the runs' seeds are derived from")
    run.add_argument("--grid", metavar="NAME=V1,V2,...", action="append", default=[], type=parse_grid,
                     help="a PyGAD parameter and its values, e.g. --grid mutation_probability=0.05,0.1,0.2 "
                          "(repeat for more parameters)")
    run.add_argument("--fitness-file", help="read fitness_func from this Python file")
    run.add_argument("--name", help="the experiment's name")
    run.add_argument("--set", dest="overrides", metavar="NAME=VALUE", action="append", default=[],
                     type=parse_assignment, help="set a field of the base job, e.g. --set num_generations=50")
    run.add_argument("--wait", action="store_true", help="wait for every run to end, then print the ranked cells")
    run.add_argument("--timeout", type=float, help="with --wait: give up after this many seconds (exit 4)")
    run.add_argument("--poll-interval", type=float, default=1.0, help="seconds between polls (default 1)")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="draw the live progress line on stderr (default: when stderr is a terminal)")
    actions.add_parser("show", parents=[common], help="an experiment's status and ranked cells").add_argument(
        "id", help="the experiment's id")
    actions.add_parser("list", parents=[common], help="your experiments, newest first").add_argument(
        "--limit", type=int, default=20, help="show at most this many (default 20)")
    actions.add_parser("cancel", parents=[common], help="cancel an experiment's queued and running runs") \
        .add_argument("id", help="the experiment's id")
    history = actions.add_parser("history", parents=[common], help="per cell and generation: the runs' best fitness "
                                                                   "so far (mean, p10, p50, p90) as CSV")
    history.add_argument("id", help="the experiment's id")


def _int_list(text):
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None


def parse_grid(text):
    """`name=v1,v2,...`: the values as a JSON list when they read as one, else split on commas."""
    name, sep, values = text.partition("=")
    if not sep or not name or not values:
        raise argparse.ArgumentTypeError(f"expected NAME=V1,V2,..., got {text!r}")
    try:
        parsed = json.loads(f"[{values}]")
    except ValueError:
        parsed = [parse_assignment(f"v={part}")[1] for part in values.split(",")]
    return name, parsed


def main(argv=None):
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.json = getattr(args, "json", False)
    try:
        client = Client(api_key=getattr(args, "api_key", None), base_url=getattr(args, "base_url", None))
    except ValueError as exc:  # a base URL that is no http(s) URL
        return _fail(args, USAGE, {"code": "usage", "message": str(exc)})
    if not client.api_key:
        client.close()
        return _fail(args, USAGE, {"code": "unauthenticated", "message": MISSING_KEY})
    try:
        return COMMANDS[args.command](client, args)
    except UsageError as exc:
        return _fail(args, USAGE, {"code": "usage", "message": str(exc)})
    except WaitTimeoutError as exc:
        _emit(args, exc.submission.raw, f"timed out waiting for {exc.submission.id} (now {exc.submission.status})")
        return TIMED_OUT
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except RunFailedError as exc:
        return _fail(args, RUN_FAILED, {"code": exc.code, "message": exc.message})
    except APIConnectionError as exc:
        return _fail(args, UNREACHABLE, {"code": "connection_error", "message": exc.message})
    except VilvikError as exc:
        return _fail(args, USAGE, {"status": exc.status, "code": exc.code, "message": exc.message,
                                   "param": exc.param, "details": exc.details, "doc_url": exc.doc_url,
                                   "request_id": exc.request_id})
    finally:
        client.close()


def _fail(args, code, error):
    if args.json:
        print(json.dumps({"error": error}), file=sys.stderr)
    else:
        prefix = f"[{error['code']}] " if error.get("code") else ""
        suffix = f" (request {error['request_id']})" if error.get("request_id") else ""
        print(f"vilvik: error: {prefix}{error['message']}{suffix}", file=sys.stderr)
        for field, problems in _field_problems((error.get("details") or {}).get("fields") or {}):
            print(f"  {field}: {problems}", file=sys.stderr)
    return code


def _field_problems(fields, prefix=""):
    """(dotted path, problems) of the API's `details.fields`, its nested objects flattened."""
    for name, problems in fields.items():
        if isinstance(problems, dict):
            yield from _field_problems(problems, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", "; ".join(map(str, problems)) if isinstance(problems, list) else problems


def _emit(args, body, text):
    print(json.dumps(body, indent=2, sort_keys=True) if args.json else text)


def _read_job(args):
    job = {}
    if args.job:
        try:
            handle = sys.stdin if args.job == "-" else open(args.job, encoding="utf-8")
            with handle:
                job = json.load(handle)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the job {args.job}: {exc}") from None
        if not isinstance(job, dict):
            raise UsageError(f"the job {args.job} must be a JSON object")
    elif not args.quick:
        raise UsageError("give a job file (or - for stdin), or --quick PROBLEM")
    if args.fitness_file:
        try:
            with open(args.fitness_file, encoding="utf-8") as handle:
                job["fitness_func"] = handle.read()
        except OSError as exc:
            raise UsageError(f"cannot read {args.fitness_file}: {exc}") from None
    if args.quick:
        job.update(type="quick", problem=args.quick)
        job["problem_params"] = {**(job.get("problem_params") or {}), **dict(args.problem_params)}
    elif args.problem_params:
        raise UsageError("--param is for --quick problems; use --set for other fields")
    if args.name is not None:
        job["name"] = args.name
    job.update(dict(args.overrides))
    return job


def _follow(client, args, submission):
    """Print the accepted submission, or wait for it (--wait) and print how it ended."""
    if not args.wait:
        cost = f"; may cost up to {submission.credits_reserved} credits" if submission.credits_reserved else ""
        if submission.credits_estimate is not None:
            cost += f" (about {submission.credits_estimate})"
        _emit(args, submission.raw, f"{submission.id} {submission.status}{cost}")
        return OK
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    submission.wait(timeout=args.timeout, poll_interval=args.poll_interval,
                    cancel_on_timeout=args.cancel_on_timeout, progress=show)
    text = cli_text.summary(submission)
    if not args.json and submission.status in ("succeeded", "cancelled"):
        result = client.results.for_submission(submission.id)
        if result is not None:
            text += "\n" + "\n".join(f"{k:<21}{v}" for k, v in cli_text.answer_rows(result))
    _emit(args, submission.raw, text)
    return OK if submission.status == "succeeded" else RUN_FAILED












def cmd_submit(client, args):
    job = _read_job(args)
    if args.quick and not job.get("problem_params"):
        job["problem_params"] = _example(client, args)
    return _follow(client, args, client.submissions.create(**job))


def _example(client, args):
    """A quick problem's example parameters (what `--quick NAME` runs when given no --param)."""
    for problem in client.quick.problems():
        if problem.name == args.quick:
            if not args.json:
                print(f"no --param given: using {problem.name}'s example {json.dumps(problem.example)}",
                      file=sys.stderr)
            return problem.example or {}
    return {}  # an unknown name: the server says which names it knows


def cmd_continue(client, args):
    return _follow(client, args, client.submissions.continue_(args.id, args.generations, **dict(args.overrides)))


def cmd_status(client, args):
    submission = client.submissions.get(args.id)
    rows = [("id", submission.id), ("name", submission.name), ("status", submission.status),
            ("created", submission.raw.get("created_at")), ("finished", submission.raw.get("finished_at")),
            ("parent", submission.parent_id)]
    lines = [f"{name:<10}{value}" for name, value in rows if value] + cli_text.details(submission)
    _emit(args, submission.raw, "\n".join(lines))
    return OK


def cmd_results(client, args):
    result = client.results.for_submission(args.id)
    if result is None:
        try:
            result = client.results.get(args.id)
        except NotFoundError:
            submission = client.submissions.get(args.id)  # NotFoundError here: neither exists
            if submission.status in ("failed", "cancelled"):
                raise RunFailedError(submission, f"{submission.id} {submission.status} without a result"
                                     + (f": {submission.error.message}" if submission.error else ""),
                                     code=submission.error.code if submission.error else submission.status)
            raise UsageError(f"{submission.id} is {submission.status}: no result yet") from None
    if args.csv:
        sys.stdout.write(client.results.csv(result.id))
        return OK
    rows = [("result", result.id), ("submission", result.submission_id), *cli_text.answer_rows(result),
            ("found in generation", result.best_solution_generation),
            ("generations", result.generations_completed), ("credits charged", result.credits_charged)]
    _emit(args, result.raw, "\n".join(f"{k:<21}{v}" for k, v in rows))
    return OK


def cmd_cancel(client, args):
    submission = client.submissions.cancel(args.id)
    _emit(args, submission.raw, f"{submission.id} {submission.status}")
    return OK


def cmd_list(client, args):
    found = []
    for submission in client.submissions.list(status=args.status, name=args.name, limit=min(max(args.limit, 1), 100)):
        if len(found) >= args.limit:
            break
        found.append(submission)
    if args.json:
        print(json.dumps([s.raw for s in found], indent=2, sort_keys=True))
        return OK
    for s in found:
        progress = s.progress
        done = f"{progress.generations_completed}/{progress.num_generations}" if progress else "-"
        best = progress.best_fitness if progress and progress.best_fitness is not None else "-"
        print(f"{s.id}  {s.status:<10} {done:>9}  best {best!s:<22} {s.raw.get('created_at', '')}  {s.name or ''}")
    return OK


def cmd_account(client, args):
    account = client.account.get()
    credits = account.credits
    limits = account.limits or {}
    active, queued = limits.get("max_active") or {}, limits.get("max_queued") or {}
    _emit(args, account.raw, "\n".join([
        f"account    {account.id} ({account.email})",
        f"credits    {credits.balance} (available {credits.available}, reserved {credits.reserved})",
        f"running    {active.get('used', '-')} of {active.get('limit', '-')}",
        f"queued     {queued.get('used', '-')} of {queued.get('limit', '-')}"]))
    return OK


def cmd_problems(client, args):
    problems = client.quick.problems()
    _emit(args, [p.raw for p in problems], "\n\n".join(cli_text.problem_text(p) for p in problems))
    return OK




def cmd_experiment(client, args):
    if args.action == "run":
        if args.seed is not None and args.repeats is None:
            raise UsageError("--seed goes with --repeats (with --seeds the seeds are given)")
        args.quick, args.problem_params = None, []
        job = _read_job(args)
        if job.pop("random_seed", None) is not None and not args.json:
            # The job file `vilvik submit` takes usually carries one; an experiment seeds each run itself.
            print(f"leaving out the job's random_seed: each run's seed comes from "
                  f"{'--seeds' if args.seeds else '--repeats (and --seed)'}", file=sys.stderr)
        experiment = client.experiments.create(job, repeats=args.repeats, seeds=args.seeds,
                                               seed=args.seed, grid=dict(args.grid) or None, name=args.name)
        if not args.wait:
            cost = f"; may cost up to {experiment.credits_reserved} credits" if experiment.credits_reserved else ""
            _emit(args, experiment.raw, f"{experiment.id} {experiment.status}: {plural(experiment.runs_total, 'run')}{cost}")
            return OK
        show = args.progress if args.progress is not None else sys.stderr.isatty()
        experiment.wait(timeout=args.timeout, poll_interval=args.poll_interval, progress=show)
    elif args.action == "cancel":
        experiment = client.experiments.cancel(args.id)
    elif args.action == "history":
        sys.stdout.write(client.experiments.history_csv(args.id))
        return OK
    elif args.action == "list":
        found = []
        for experiment in client.experiments.list(limit=min(max(args.limit, 1), 100)):
            if len(found) >= args.limit:
                break
            found.append(experiment)
        headlines = [cli_text.experiment_summary(e).splitlines()[0] + f"  {e.name or ''}" for e in found]
        _emit(args, [e.raw for e in found], "\n".join(headlines))
        return OK
    else:
        experiment = client.experiments.get(args.id)
    _emit(args, experiment.raw, cli_text.experiment_summary(experiment))
    succeeded = (experiment.counts or {}).get("succeeded", 0)
    return OK if args.action != "run" or (experiment.status == "finished" and succeeded) else RUN_FAILED




COMMANDS = {"experiment": cmd_experiment, "submit": cmd_submit, "status": cmd_status, "results": cmd_results, "cancel": cmd_cancel,
            "continue": cmd_continue, "list": cmd_list, "account": cmd_account, "problems": cmd_problems}


def run():
    """Console-script entry point."""
    try:
        try:
            code = main()
        finally:  # also when main() ends in SystemExit
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`vilvik list | head -1`): end quietly, as a Unix tool that SIGPIPE
        # ends does. SIGPIPE itself stays ignored: a server closing a socket must not kill the CLI.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's own flush writes there
        code = STDOUT_CLOSED
    sys.exit(code)
