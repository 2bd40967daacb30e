"""`client.submissions` and `client.results`."""
from __future__ import annotations

import inspect
import json
import textwrap
import uuid
from urllib.parse import quote

import requests

from ..errors import APIConnectionError
from ..objects import Result, ServerSentEvent
from ..pagination import ListIterator
from ..submission import Submission

MAX_PREFER_WAIT = 60
STREAM_READ_TIMEOUT = 30  # seconds; twice the server's keep-alive interval


def new_idempotency_key():
    """A fresh Idempotency-Key: one per create call, the same on each of its retries."""
    return str(uuid.uuid4())


def function_source(func):
    """(source, name) of a plain function defined in a file: what `fitness_func=func` sends."""
    name = getattr(func, "__name__", "")
    if not name.isidentifier():
        raise TypeError("fitness_func: a lambda cannot be sent (its source is not a function the server can call "
                        "by name); define it with def in a file, or pass its Python source as a string")
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        raise TypeError(f"fitness_func: the source of {name} cannot be read (was it typed at an interactive "
                        f"prompt?); define it in a file, or pass its Python source as a string") from None
    return textwrap.dedent(source), name


def _id(value):
    return quote(str(value), safe="")


class Resource:
    def __init__(self, client):
        self._client = client


class SubmissionsResource(Resource):
    """Create, fetch, list, cancel, continue and delete submissions."""

    def _build(self, body):
        return Submission.from_dict(body, self._client)

    def create(self, fitness_func=None, *, fitness_func_entry=None, name=None, metadata=None, type=None,
               problem=None, problem_params=None, limits=None, webhook_url=None, webhook_events=None,
               wait=None, idempotency_key=None, **params):
        """Submit a job. PyGAD parameters go by PyGAD's names as keyword arguments.

        `fitness_func` is Python source, or a plain function defined in a file (its source is
        sent and its name becomes `fitness_func_entry`). `type="quick"` with `problem` and
        `problem_params` uses the quick builder instead. `wait=N` (seconds, at most 60) asks
        the server to hold the answer until the run ends or N seconds pass.
        """
        if callable(fitness_func):
            fitness_func, name = function_source(fitness_func)
            fitness_func_entry = fitness_func_entry or name
        named = {"type": type, "name": name, "metadata": metadata, "problem": problem,
                 "problem_params": problem_params, "fitness_func": fitness_func,
                 "fitness_func_entry": fitness_func_entry, "limits": limits, "webhook_url": webhook_url,
                 "webhook_events": webhook_events}
        body = {key: value for key, value in named.items() if value is not None}
        body.update(params)
        headers, timeout = {}, None
        if wait:
            seconds = min(int(wait), MAX_PREFER_WAIT)
            headers["Prefer"] = f"wait={seconds}"
            timeout = _read_at_least(self._client.timeout, seconds + 15)
        response = self._client.request_json("POST", "/submissions", json=body, headers=headers, timeout=timeout,
                                             idempotency_key=idempotency_key or new_idempotency_key())
        return self._build(response)

    def get(self, submission_id, include_fitness_func=False):
        """Fetch one submission (with its fitness source when `include_fitness_func`)."""
        params = {"include": "fitness_func"} if include_fitness_func else None
        return self._build(self._client.request_json("GET", f"/submissions/{_id(submission_id)}", params=params))

    def list(self, *, status=None, name=None, created_after=None, created_before=None, experiment_id=None,
             limit=None):
        """Your submissions, newest first; iterate for all of them (pages are fetched as needed)."""
        return ListIterator(self._client, "/submissions",
                            {"status": status, "name": name, "created_after": created_after,
                             "created_before": created_before, "experiment_id": experiment_id, "limit": limit},
                            self._build)

    def cancel(self, submission_id, *, idempotency_key=None):
        """Cancel a queued or running submission; repeating it on a cancelled one is harmless."""
        return self._build(self._client.request_json(
            "POST", f"/submissions/{_id(submission_id)}/cancel",
            idempotency_key=idempotency_key or new_idempotency_key()))

    def continue_(self, submission_id, num_generations, *, idempotency_key=None, **overrides):
        """Run `num_generations` more from a finished run's final state; returns the new submission."""
        body = {"num_generations": num_generations, **overrides}
        return self._build(self._client.request_json(
            "POST", f"/submissions/{_id(submission_id)}/continue", json=body,
            idempotency_key=idempotency_key or new_idempotency_key()))

    def delete(self, submission_id):
        """Delete a finished submission, its result and its code (the credit ledger keeps its rows)."""
        self._client.request_json("DELETE", f"/submissions/{_id(submission_id)}")

    def stream(self, submission_id):
        """Iterate a run's Server-Sent Events: `progress` events, then one `status` event; then it ends.

        Between events the read may wait up to STREAM_READ_TIMEOUT seconds whatever the client's
        timeout (the server sends a keep-alive every 15 s); a stream that breaks off raises
        `APIConnectionError`.
        """
        response = self._client.request("GET", f"/submissions/{_id(submission_id)}/events", stream=True,
                                        headers={"Accept": "text/event-stream"},
                                        timeout=_read_at_least(self._client.timeout, STREAM_READ_TIMEOUT))
        with response:
            try:
                yield from parse_sse(response.iter_lines(decode_unicode=True))
            except requests.RequestException as exc:
                raise APIConnectionError(f"the event stream of {submission_id} broke off: {exc}") from exc


def parse_sse(lines):
    """Server-Sent Events from text lines (comments and keep-alives are skipped)."""
    event, data, event_id = None, [], None
    for line in lines:
        if line is None:
            continue
        if line == "":
            if data:
                text = "\n".join(data)
                try:
                    payload = json.loads(text)
                except ValueError:
                    payload = text
                yield ServerSentEvent(event=event or "message", data=payload, id=event_id)
            event, data, event_id = None, [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value


def _read_at_least(timeout, seconds):
    """The client's timeout as (connect, read) with the read raised to at least `seconds`; a timeout of
    None (wait for ever) stays None."""
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    return (connect, None if read is None else max(read, seconds))


class ResultsResource(Resource):
    """Fetch and list results (they exist for succeeded runs and cancelled runs with progress)."""

    def _build(self, body):
        return Result.from_dict(body, self._client)

    def get(self, result_id):
        """One result by its id."""
        return self._build(self._client.request_json("GET", f"/results/{_id(result_id)}"))

    def csv(self, result_id):
        """The per-generation history of a result as CSV text."""
        response = self._client.request("GET", f"/results/{_id(result_id)}", params={"format": "csv"},
                                        headers={"Accept": "text/csv"})
        with response:
            return response.text

    def list(self, *, submission_id=None, limit=None):
        """Your results, newest first; `submission_id` narrows them to one run."""
        return ListIterator(self._client, "/results", {"submission_id": submission_id, "limit": limit},
                            self._build)

    def for_submission(self, submission_id):
        """The result of one submission, or None if it has none (yet)."""
        page = self.list(submission_id=submission_id, limit=1).first_page()
        return page.data[0] if page.data else None
