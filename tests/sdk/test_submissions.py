"""client.submissions and client.results, and a Submission's own methods, against a real server."""
import math
import socket
import threading
import time
from datetime import datetime, timezone

import pytest

import vilvik

from .conftest import SMALL, SUM

SLOW = "import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(0.05)\n    return float(sum(sol))\n"


def fitness_as_a_function(ga_instance, solution, solution_idx):
    return -sum((x - 1.0) ** 2 for x in solution)


def test_it_creates_a_submission_and_waits_for_its_result(sdk):
    submission = sdk.submissions.create(SUM, name="sdk run", metadata={"team": "ga"}, random_seed=3, **SMALL)
    assert isinstance(submission, vilvik.Submission)
    assert len(submission.id) == 12 and submission.status == "queued"
    assert isinstance(submission.created_at, datetime) and submission.created_at.tzinfo is not None
    assert submission.credits_reserved > 0
    assert submission.raw["status_url"].endswith(f"/submissions/{submission.id}")

    assert submission.wait(timeout=60, poll_interval=0.05) is submission
    assert submission.status == "succeeded" and submission.done
    assert submission.name == "sdk run" and submission.metadata == {"team": "ga"}
    assert submission.params["random_seed"] == 3
    assert submission.progress.generations_completed == 5 == submission.progress.num_generations
    assert submission.usage["cpu_seconds"] > 0 and submission.credits_charged > 0

    result = submission.result()
    assert isinstance(result, vilvik.Result)
    assert result.submission_id == submission.id
    assert len(result.best_solution) == 3
    assert len(result.best_fitness_per_generation) == 6
    assert result.best_solution_fitness == result.best_fitness_per_generation[-1]
    assert result.raw["id"] == result.id and result["best_solution"] == result.best_solution
    assert sdk.results.get(result.id) == result


def test_it_sends_a_plain_function_as_its_source(sdk):
    submission = sdk.submissions.create(fitness_as_a_function, **SMALL).wait(timeout=60, poll_interval=0.05)
    assert submission.status == "succeeded", submission.error
    fetched = sdk.submissions.get(submission.id, include_fitness_func=True)
    assert fetched.fitness_func_entry == "fitness_as_a_function"
    assert fetched.fitness_func.startswith("def fitness_as_a_function(ga_instance, solution, solution_idx):")
    assert sdk.submissions.get(submission.id).fitness_func is None


@pytest.mark.parametrize("make", ["lambda", "no source file"])
def test_a_function_whose_source_cannot_be_sent_is_refused_before_any_request(make):
    if make == "lambda":
        func = lambda ga, sol, idx: 1.0  # noqa: E731
    else:
        scope = {}
        exec("def fitness_func(ga, sol, idx):\n    return 1.0\n", scope)  # as typed at an interactive prompt
        func = scope["fitness_func"]
    client = vilvik.Client(api_key="vk_x", base_url="http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(TypeError, match="source"):
        client.submissions.create(func, **SMALL)
    with pytest.raises(TypeError, match="source"):
        client.experiments.create(fitness_func=func, repeats=2, **SMALL)


def test_numpy_arrays_and_scalars_are_sent_as_the_lists_and_numbers_they_hold(sdk):
    import numpy

    submission = sdk.submissions.create(SUM, num_generations=numpy.int64(3), sol_per_pop=4, num_parents_mating=2,
                                        initial_population=numpy.arange(12, dtype=numpy.int32).reshape(4, 3) / 4,
                                        gene_space=numpy.linspace(0.0, 2.0, 9), random_seed=numpy.uint32(7))
    params = submission.wait(timeout=60, poll_interval=0.05).params
    assert submission.status == "succeeded", submission.error
    assert params["num_generations"] == 3 and params["random_seed"] == 7
    assert params["initial_population"][1] == [0.75, 1.0, 1.25] and params["gene_space"][-1] == 2.0


def test_a_body_that_is_not_json_is_refused_before_any_request():
    client = vilvik.Client(api_key="vk_x", base_url="http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ValueError, match="JSON"):
        client.submissions.create(SUM, **dict(SMALL, mutation_probability=float("nan")))
    with pytest.raises(TypeError, match="JSON"):
        client.submissions.create(SUM, **SMALL, metadata={"when": object()})


def test_the_server_can_hold_the_answer_until_the_run_ends(sdk):
    submission = sdk.submissions.create(SUM, wait=30, **SMALL)
    assert submission.status == "succeeded"
    assert submission.progress.generations_completed == 5


def test_a_repeated_idempotency_key_returns_the_first_submission(sdk):
    first = sdk.submissions.create(SUM, idempotency_key="sdk-test-same-key", **SMALL)
    again = sdk.submissions.create(SUM, idempotency_key="sdk-test-same-key", **SMALL)
    assert again.id == first.id
    with pytest.raises(vilvik.IdempotencyConflictError) as caught:
        sdk.submissions.create(SUM, idempotency_key="sdk-test-same-key", name="other", **SMALL)
    assert caught.value.status == 422


def test_a_failed_run_is_reported_and_result_raises(sdk):
    source = "def fitness_func(ga, sol, idx):\n    raise ValueError('bad gene')\n"
    submission = sdk.submissions.create(source, **SMALL).wait(timeout=60, poll_interval=0.05)
    assert submission.status == "failed"
    assert isinstance(submission.error, vilvik.RunError)
    assert submission.error.code == "fitness_error" and "bad gene" in submission.error.message
    with pytest.raises(vilvik.RunFailedError) as caught:
        submission.result()
    assert caught.value.code == "fitness_error" and caught.value.submission is submission


def test_result_waits_for_an_unfinished_run(sdk):
    submission = sdk.submissions.create(SUM, **SMALL)
    assert submission.result(timeout=60).submission_id == submission.id
    assert submission.status == "succeeded"


def test_wait_times_out_and_can_cancel_the_run(sdk):
    submission = sdk.submissions.create(SLOW, **dict(SMALL, num_generations=400))
    with pytest.raises(vilvik.WaitTimeoutError) as caught:
        submission.wait(timeout=0.3, poll_interval=0.05)
    assert caught.value.submission is submission and not submission.done
    with pytest.raises(vilvik.WaitTimeoutError):
        submission.wait(timeout=0.2, poll_interval=0.05, cancel_on_timeout=True)
    assert submission.status == "cancelled"
    assert sdk.submissions.get(submission.id).status == "cancelled"


def test_wait_reports_progress_to_a_callback_and_as_a_live_line(sdk, capsys):
    seen = []
    submission = sdk.submissions.create(SLOW, **dict(SMALL, num_generations=8, sol_per_pop=4))
    submission.wait(timeout=60, poll_interval=0.05, progress=seen.append)
    assert seen[-1] is submission and submission.status == "succeeded"
    assert submission.progress.generations_completed == 8

    sdk.submissions.create(SUM, **SMALL).wait(timeout=60, poll_interval=0.05, progress=True)
    line = capsys.readouterr().err.rsplit("\r", 1)[-1]
    assert "generation 5/5" in line and "best " in line and "succeeded" in line
    assert "[########################]" in line


def test_it_cancels_a_submission_and_cancelling_again_is_harmless(sdk):
    submission = sdk.submissions.create(SLOW, **dict(SMALL, num_generations=400))
    cancelled = sdk.submissions.cancel(submission.id)
    assert cancelled.status == "cancelled"
    assert submission.cancel() is submission and submission.status == "cancelled"


def test_cancelling_a_finished_run_is_a_conflict(sdk):
    submission = sdk.submissions.create(SUM, **SMALL).wait(timeout=60, poll_interval=0.05)
    with pytest.raises(vilvik.ConflictError) as caught:
        submission.cancel()
    assert caught.value.status == 409 and caught.value.details["status"] == "succeeded"
    assert caught.value.request_id


def test_it_continues_a_finished_run(sdk):
    parent = sdk.submissions.create(SUM, random_seed=7, **SMALL).wait(timeout=60, poll_interval=0.05)
    child = parent.continue_(3)
    assert child.id != parent.id
    child.wait(timeout=60, poll_interval=0.05)
    assert child.status == "succeeded", child.error
    assert child.parent_id == parent.id
    also = sdk.submissions.continue_(parent.id, 2, mutation_probability=0.5)
    assert also.wait(timeout=60, poll_interval=0.05).status == "succeeded"


def test_it_deletes_a_finished_submission(sdk):
    submission = sdk.submissions.create(SUM, **SMALL).wait(timeout=60, poll_interval=0.05)
    assert submission.delete() is None
    with pytest.raises(vilvik.NotFoundError):
        sdk.submissions.get(submission.id)


def test_it_streams_a_runs_progress_as_server_sent_events(sdk):
    submission = sdk.submissions.create(SLOW, **dict(SMALL, num_generations=6, sol_per_pop=4))
    events = list(submission.stream())
    assert events[-1].event == "status" and events[-1].data["status"] == "succeeded"
    progress = [e.data["generations_completed"] for e in events if e.event == "progress"]
    assert progress and progress == sorted(progress) and progress[-1] == 6


def test_a_stream_outlasts_a_short_client_timeout_between_events(sdk):
    # Nothing is sent for about 2 s between generations; the server's keep-alive comes every 15 s.
    quiet = "import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(0.5)\n    return 1.0\n"
    submission = sdk.submissions.create(quiet, **dict(SMALL, num_generations=2, sol_per_pop=4))
    with vilvik.Client(api_key=sdk.api_key, base_url=sdk.base_url, timeout=1) as impatient:
        events = list(impatient.submissions.stream(submission.id))
    assert events[-1].event == "status" and events[-1].data["status"] == "succeeded"


def test_a_client_without_a_timeout_waits_and_streams(sdk):
    with vilvik.Client(api_key=sdk.api_key, base_url=sdk.base_url, timeout=None) as patient:
        held = patient.submissions.create(SUM, **SMALL, wait=30)
        assert held.status == "succeeded"
        assert [event.event for event in patient.submissions.stream(held.id)][-1] == "status"


def test_a_stream_that_breaks_off_raises_an_api_connection_error():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def serve_half_a_stream():
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n"
                                   b"1a\r\nevent: progress\ndata: {}\n\n\r\n")  # then gone, mid-stream

        threading.Thread(target=serve_half_a_stream, daemon=True).start()
        with vilvik.Client(api_key="vk_x", base_url=f"http://127.0.0.1:{listener.getsockname()[1]}") as client:
            events = []
            with pytest.raises(vilvik.APIConnectionError):
                for event in client.submissions.stream("abcDEF123456"):
                    events.append(event)
    assert [event.event for event in events] == ["progress"]


def test_lists_paginate_lazily_and_filter(sdk):
    prefix = f"page-{time.monotonic_ns()}"
    made = [sdk.submissions.create(SUM, name=f"{prefix}-{i}", **SMALL) for i in range(5)]
    listing = sdk.submissions.list(name=prefix, limit=2)
    assert [s.id for s in listing] == [s.id for s in reversed(made)]

    first = listing.first_page()
    assert isinstance(first, vilvik.Page) and len(first) == 2 and first.has_more and first.next_cursor
    pages = list(sdk.submissions.list(name=prefix, limit=2).pages())
    assert [len(page) for page in pages] == [2, 2, 1]
    assert pages[-1].has_more is False and pages[-1].next_cursor is None

    for submission in made:
        submission.wait(timeout=60, poll_interval=0.05)
    succeeded = list(sdk.submissions.list(name=prefix, status="succeeded"))
    assert len(succeeded) == 5 and all(isinstance(s, vilvik.Submission) for s in succeeded)
    assert list(sdk.submissions.list(name=prefix, created_after=datetime(2999, 1, 1, tzinfo=timezone.utc))) == []
    assert len(list(sdk.submissions.list(name=prefix, created_before="2999-01-01T00:00:00Z"))) == 5

    results = list(sdk.results.list(submission_id=made[0].id))
    assert [r.submission_id for r in results] == [made[0].id]
    assert sdk.results.for_submission(made[0].id) == results[0]
    assert len(sdk.results.list(limit=3).first_page()) == 3


def test_it_reads_the_history_as_csv(sdk):
    result = sdk.submissions.create(SUM, **SMALL).result(timeout=60)
    text = result.csv()
    assert text.splitlines()[0] == "generation,best_fitness,mean_fitness"
    assert len(text.splitlines()) == 7
    assert sdk.results.csv(result.id) == text


def test_objects_keep_fields_the_sdk_does_not_know(sdk):
    submission = sdk.submissions.create(SUM, **SMALL).wait(timeout=60, poll_interval=0.05)
    assert submission.versions["pygad"]  # not a declared field: read from .raw
    assert submission.to_dict() == submission.raw and submission.raw is not submission.to_dict()
    with pytest.raises(AttributeError):
        submission.no_such_field
    assert not math.isnan(submission.progress.best_fitness)
