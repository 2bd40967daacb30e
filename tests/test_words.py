"""Counted nouns read right on both sides (server and SDK): "1 run", "2 runs", never "1 runs"."""
import pytest

import vilvik
from vilvik import cli_text
from vilvik import words as sdk_words
from vilvik.experiment import format_progress
from vilvik_server.domain import stop_reason
from vilvik_server.domain import words as server_words


@pytest.mark.parametrize("plural", [server_words.plural, sdk_words.plural], ids=["server", "sdk"])
@pytest.mark.parametrize("count,spec,expected", [
    (1, "", "1 run"), (0, "", "0 runs"), (2, "", "2 runs"), (1.5, "", "1.5 runs"),
    (1.0, "", "1.0 runs"),   # a decimal shown with its point counts as plural, like "1.0 credits"
    (1.0, "g", "1 run"), (60.0, "g", "60 runs"), ("?", "", "? runs")])
def test_the_noun_is_singular_exactly_when_the_number_reads_one(plural, count, spec, expected):
    assert plural(count, "run", spec=spec) == expected


@pytest.mark.parametrize("plural", [server_words.plural, sdk_words.plural], ids=["server", "sdk"])
def test_an_irregular_plural_is_named(plural):
    assert plural(1, "process", "processes") == "1 process"
    assert plural(4, "process", "processes") == "4 processes"


@pytest.mark.parametrize("generations,text", [(1, "its one generation ran"), (2, "all 2 generations ran")])
def test_a_run_that_ran_every_generation_says_so_in_the_right_number(generations, text):
    assert stop_reason.describe("num_generations", None, generations) == text
    submission = vilvik.Submission.from_dict({"id": "abc", "status": "succeeded", "stop_reason": "num_generations",
                                              "progress": {"generations_completed": generations,
                                                           "num_generations": generations}})
    assert cli_text.ended(submission) == text


def test_the_sdks_experiment_lines_count_one_run_as_one():
    experiment = vilvik.Experiment.from_dict({"id": "abc", "status": "queued", "runs_total": 1, "counts": {}})
    assert format_progress(experiment) == "abc [........................] 0/1 run ended  queued"
    assert cli_text.experiment_summary(experiment).startswith("abc queued: 1 run (")
