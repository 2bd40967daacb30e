"""The request that makes a run again: for "copy as curl", "copy as Python (SDK)" and "edit and resubmit".

A submission stores its effective parameters (every PyGAD default filled in); the
request keeps only what differs from the defaults (a quick problem's: the builder's),
so it reads like what a person would have sent, and runs exactly the same job.
"""
import json

from .ga_params import effective_params

RUN_FIELDS = ("name", "metadata", "limits", "webhook_url", "webhook_events")


def request_for(submission):
    """(method path, JSON body) that runs this submission again; a continuation continues its parent again."""
    if submission.get("parent_id"):
        return (f"/submissions/{submission['parent_id']}/continue",
                {"num_generations": submission["params"]["num_generations"]})
    return "/submissions", create_body(submission)


def create_body(submission):
    """The POST /submissions body of this run (a continuation's as a fresh run of its parameters)."""
    params = submission["params"]
    if submission.get("type") == "quick" and submission.get("problem"):
        from .. import quick

        builder, _source, _entry = quick.build(submission["problem"], submission.get("problem_params") or {})
        body = {"type": "quick", "problem": submission["problem"],
                "problem_params": submission.get("problem_params") or {}}
        defaults = effective_params(builder)
    else:
        body = {"fitness_func": submission.get("fitness_func", ""),
                "fitness_func_entry": submission.get("fitness_func_entry") or "fitness_func"}
        if body["fitness_func_entry"] == "fitness_func":
            del body["fitness_func_entry"]
        defaults = effective_params({})
    body.update({name: value for name, value in params.items() if value != defaults.get(name)})
    for name in RUN_FIELDS:
        if submission.get(name) not in (None, "", {}, []):
            body[name] = submission[name]
    return body


def as_curl(api_base, path, body):
    """A shell command (a here-document keeps the fitness source's quotes intact)."""
    return (f"curl -X POST {api_base}{path} \\\n"
            '  -H "Authorization: Bearer $VILVIK_API_KEY" -H "Content-Type: application/json" \\\n'
            f"  --data-binary @- <<'JSON'\n{json.dumps(body, indent=2)}\nJSON\n")


def as_python(api_base, path, body):
    """A script for the vilvik SDK that runs it and prints the best solution."""
    lines = ["import vilvik", "", f"client = vilvik.Client(base_url={api_base!r})  # the key: $VILVIK_API_KEY"]
    if path.endswith("/continue"):
        parent = path.split("/")[2]
        lines.append(f"run = client.submissions.continue_({parent!r}, {body['num_generations']!r})")
    else:
        source = body.get("fitness_func")
        if source is not None and '"""' not in source and "\\" not in source:
            lines += ["", f'fitness_func = """{source}"""', ""]
            arguments = ["fitness_func=fitness_func"]
        else:
            arguments = [] if source is None else [f"fitness_func={source!r}"]
        arguments += [f"{name}={value!r}" for name, value in body.items() if name != "fitness_func"]
        lines.append("run = client.submissions.create(\n    " + ",\n    ".join(arguments) + ",\n)")
    lines += ["result = run.wait().result()", "print(result.best_solution_fitness, result.best_solution)"]
    return "\n".join(lines) + "\n"
