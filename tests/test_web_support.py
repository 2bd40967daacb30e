"""Helpers for the website's tests (no tests here): passwords, logging in, CSRF tokens, finishing runs."""
import re

import pytest
from werkzeug.security import generate_password_hash

from vilvik_server import billing
from vilvik_server.store import accounts, results
from vilvik_server.store import submissions as submission_store

PASSWORD = "correct horse battery staple"
TOKEN = "test-csrf-token"
CUSTOM_FORM = {"type": "custom", "name": "web run", "num_generations": "10", "num_parents_mating": "2",
               "sol_per_pop": "4", "num_genes": "3",
               "fitness_func": "def fitness_func(ga, sol, idx):\n    return sum(sol)\n",
               "fitness_func_entry": "fitness_func"}


def set_password(app, account, password=PASSWORD):
    with app.extensions["vilvik"].db.transaction() as conn:
        accounts.set_password_hash(conn, account.id, generate_password_hash(password))


def with_token(client):
    """Give the client's session a known CSRF token; returns it."""
    with client.session_transaction() as session:
        session["csrf"] = TOKEN
    return TOKEN


def log_in(client, app, account, email=None):
    set_password(app, account)
    response = client.post("/login", data={"email": email or _email(app, account), "password": PASSWORD,
                                           "csrf_token": _login_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return with_token(client)


def post(client, path, data=None, **kwargs):
    """POST a form with the session's CSRF token."""
    return client.post(path, data=dict(data or {}, csrf_token=with_token(client)), **kwargs)


def token_in(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def submit(app, account, **params):
    """Queue a submission straight through the service function; returns its id."""
    from vilvik_server import submitting
    from vilvik_server.domain.inputs import SubmissionCreateSchema

    body = {"num_generations": 10, "num_parents_mating": 2, "sol_per_pop": 4, "num_genes": 3,
            "fitness_func": "def fitness_func(ga, sol, idx):\n    return sum(sol)\n", **params}
    with app.app_context():
        row, _ = submitting.accept(app.extensions["vilvik"], account.id, SubmissionCreateSchema().load(body))
    return row["id"]


def finish(app, submission_id, status="succeeded", *, history=(0.5, 1.0, 2.0), error=None, interpretation=None):
    """Play the executor's part: claim the queued run, end it, charge it and store its result."""
    db = app.extensions["vilvik"].db
    with db.transaction() as conn:
        row = submission_store.claim_next(conn, 100)
        assert row["id"] == submission_id, "finish() takes the oldest queued submission"
        usage = {"cpu_seconds": 0.25, "wall_seconds": 0.5, "peak_memory_bytes": 30 * 1048576}
        submission_store.finish(conn, submission_id, status, usage=usage, error=error,
                                generations_completed=len(history) - 1 if status != "failed" else 0,
                                best_fitness=history[-1] if status != "failed" else None)
        charged = billing.settle(conn, row, cpu_seconds=0.25, settings=app.extensions["vilvik"].settings,
                                 error_code=error and error["code"])
        if status != "failed":
            body = {"best_solution": [1.0, 2.0, 3.0], "best_solution_fitness": history[-1], "best_solution_idx": 0,
                    "best_solution_generation": len(history) - 1, "generations_completed": len(history) - 1,
                    "best_fitness_per_generation": list(history), "last_generation_fitness": [1, 2, 3, 4],
                    "population": [[1.0, 2.0, 3.0]] * 4, "usage": usage, "credits_charged_micros": charged}
            if interpretation is not None:
                body["interpretation"] = interpretation
            results.insert(conn, row["account_id"], submission_id, body, resume_state={"numpy": [], "python": []})


def _email(app, account):
    with app.app_context():
        return accounts.get(app.extensions["vilvik"].db.connection(), account.id)["email"]


def _login_token(client):
    return token_in(client.get("/login").get_data(as_text=True))


@pytest.fixture
def web_owner(app, client, owner):
    """The owner, logged in to the website on `client`."""
    log_in(client, app, owner)
    return owner
