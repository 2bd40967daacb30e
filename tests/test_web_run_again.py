"""A run's page: its cost as "up to", why it ended, and the ways to run it again."""
import html

from test_web_support import finish, submit, web_owner  # noqa: F401 - a fixture


def page(client, submission_id):
    return html.unescape(client.get(f"/submissions/{submission_id}").get_data(as_text=True))


def test_a_queued_run_shows_its_reservation_as_up_to_and_cancel_asks_first(app, client, web_owner):
    submission_id = submit(app, web_owner)
    text = page(client, submission_id)
    assert "up to 1.00" in text and "reserved)" not in text  # the app fixture's MAX_CPU_SECONDS is 1
    assert 'data-confirm="Cancel this run?' in text


def test_a_finished_run_says_why_it_ended_and_offers_curl_python_and_resubmit(app, client, web_owner):
    submission_id = submit(app, web_owner, name="again", random_seed=4, num_generations=2)
    finish(app, submission_id)
    text = page(client, submission_id)
    assert "Ended:</strong> all 2 generations ran" in text
    assert "curl -X POST http://127.0.0.1:5000/api/v1/submissions" in text
    assert '"random_seed": 4' in text and "client.submissions.create(" in text and "random_seed=4" in text
    form = html.unescape(client.get(f"/submissions/new?from={submission_id}").get_data(as_text=True))
    assert 'id="num_generations" name="num_generations" value="2"' in form
    assert 'id="random_seed" name="random_seed" value="4"' in form
    assert "return sum(sol)" in form and "Filled in from" in form


def test_resubmitting_a_strangers_run_fills_in_nothing(app, client, web_owner, stranger):
    theirs = submit(app, stranger)
    form = client.get(f"/submissions/new?from={theirs}").get_data(as_text=True)
    assert "Filled in from" not in form
