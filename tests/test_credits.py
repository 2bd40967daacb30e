"""Credits: reserve at accept, settle at the end, never below zero, and a ledger that adds up."""
import threading
import time

import pytest
import requests

from conftest import Account, ApiUser, LiveServer

from vilvik_server.store import submissions as submission_store

BODY = {"num_generations": 10, "sol_per_pop": 4, "num_genes": 3, "num_parents_mating": 2,
        "fitness_func": "def fitness_func(ga, sol, idx): return sum(sol)\n"}


def ledger(client, account):
    return client.get("/api/v1/credits/ledger?limit=100", headers=account.headers).get_json()["data"]


def test_it_reserves_the_runs_maximum_cost_at_accept(client, owner):
    accepted = client.post("/api/v1/submissions", json=BODY, headers=owner.headers).get_json()
    assert accepted["credits_reserved"] == 1.0  # MAX_CPU_SECONDS (1) x CREDITS_PER_CPU_SECOND (1.0)
    credits = client.get("/api/v1/account", headers=owner.headers).get_json()["credits"]
    assert credits == {"balance": 100, "reserved": 1.0, "available": 99.0}
    newest = ledger(client, owner)[0]
    assert (newest["kind"], newest["amount"], newest["balance_after"], newest["submission_id"]) == \
        ("reserve", -1.0, 99.0, accepted["id"])


def test_it_refuses_a_run_the_available_balance_cannot_cover(app, client):
    poor = Account(app, "poor@example.com", credits=0)
    with app.extensions["vilvik"].db.transaction() as conn:
        from vilvik_server.store import accounts
        accounts.add_to_balance(conn, poor.id, 500_000, "grant")  # half a credit
    response = client.post("/api/v1/submissions", json=BODY, headers=poor.headers)
    assert response.status_code == 402
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_credits"
    assert error["details"] == {"available": 0.5, "required": 1.0}
    assert client.get("/api/v1/submissions", headers=poor.headers).get_json()["data"] == []
    assert [e["kind"] for e in ledger(client, poor)] == ["grant"]


def test_lowering_the_cpu_limit_lowers_the_reservation(app, client):
    app.extensions["vilvik"].settings["MAX_CPU_SECONDS"] = 300
    accepted = client.post("/api/v1/submissions", json=dict(BODY, limits={"cpu_seconds": 7}),
                           headers=Account(app, "x@example.com").headers).get_json()
    assert accepted["credits_reserved"] == 7.0

@pytest.mark.parametrize("wall_seconds", [10.5, 10.0, "10", True])
def test_a_limit_must_be_a_json_integer_not_one_rounded_for_you(client, owner, wall_seconds):
    response = client.post("/api/v1/submissions", json=dict(BODY, limits={"wall_seconds": wall_seconds}),
                           headers=owner.headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"
    assert response.get_json()["error"]["param"] == "limits.wall_seconds"
    assert client.get("/api/v1/account", headers=owner.headers).get_json()["credits"]["reserved"] == 0


@pytest.mark.parametrize("change, quota", [
    ({"sol_per_pop": 2000, "num_parents_mating": 2}, "MAX_SOL_PER_POP"),
    ({"num_genes": 5000}, "MAX_NUM_GENES"),
    ({"num_generations": 600_000, "sol_per_pop": 10}, "MAX_EVALUATIONS"),
    ({"fitness_func": "#" * 70_000 + "\ndef fitness_func(a, b, c): return 1\n"}, "MAX_FITNESS_SOURCE_BYTES"),
])
def test_a_run_over_a_size_ceiling_is_quota_exceeded_naming_it(client, owner, change, quota):
    response = client.post("/api/v1/submissions", json=dict(BODY, **change), headers=owner.headers)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"]["quota"] == quota
    assert quota in error["message"]


def test_past_max_queued_it_answers_concurrency_limit(app, client, owner):
    app.extensions["vilvik"].settings["MAX_QUEUED"] = 2
    for _ in range(2):
        assert client.post("/api/v1/submissions", json=BODY, headers=owner.headers).status_code == 202
    response = client.post("/api/v1/submissions", json=BODY, headers=owner.headers)
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "concurrency_limit"
    assert int(response.headers["Retry-After"]) > 0
    assert client.get("/api/v1/account", headers=owner.headers).get_json()["credits"]["reserved"] == 2.0


def test_the_queue_is_counted_per_account_and_only_up_to_max_queued(app, client, owner, stranger):
    settings = app.extensions["vilvik"].settings
    settings["MAX_QUEUED"] = 3
    for _ in range(3):
        assert client.post("/api/v1/submissions", json=BODY, headers=owner.headers).status_code == 202
    # Another account's queue is its own.
    assert client.post("/api/v1/submissions", json=BODY, headers=stranger.headers).status_code == 202
    settings["MAX_QUEUED"] = 2  # lowered below what is queued: still refused, counting stops at the ceiling
    error = client.post("/api/v1/submissions", json=BODY, headers=owner.headers).get_json()["error"]
    assert error["code"] == "concurrency_limit"
    assert error["details"] == {"queued": 2, "max_queued": 2}
    cancelled = client.get("/api/v1/submissions", headers=owner.headers).get_json()["data"][0]["id"]
    assert client.post(f"/api/v1/submissions/{cancelled}/cancel", headers=owner.headers).status_code == 200
    settings["MAX_QUEUED"] = 3  # a cancelled submission no longer counts
    assert client.post("/api/v1/submissions", json=BODY, headers=owner.headers).status_code == 202


def test_the_queue_count_reads_only_an_index_of_queued_rows(app):
    # Counting from the table read every queued row of the account (~1 us each): an accept
    # slowed down with the length of its account's queue.
    db = app.extensions["vilvik"].db
    with db.transaction() as conn:
        plan = [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + submission_store.QUEUED_ENTRIES,
                                                 ("a", 10, "a", 10))]
    searches = [step for step in plan if step.startswith("SEARCH")]
    assert len(searches) == 2 and all("COVERING INDEX submissions_queued_by_account" in step for step in searches), plan


def test_a_long_queue_of_one_account_does_not_keep_anothers_run_waiting(app, client, owner, stranger):
    db = app.extensions["vilvik"].db
    mine = [client.post("/api/v1/submissions", json=BODY, headers=owner.headers).get_json()["id"] for _ in range(3)]
    theirs = client.post("/api/v1/submissions", json=BODY, headers=stranger.headers).get_json()["id"]
    with db.transaction() as conn:
        claimed = [submission_store.claim_next(conn, 4)["id"] for _ in range(3)]
    # The owner's oldest first; then the stranger, who runs nothing yet, before the owner's second.
    assert claimed == [mine[0], theirs, mine[1]]


@pytest.fixture(scope="module")
def money_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("money") / "instance",
                        {"WORKERS": 2, "MAX_CPU_SECONDS": 10, "MAX_QUEUED": 100, "CREDITS_PER_CPU_SECOND": 2.5,
                         "MIN_CHARGE": 0.01}).start()
    yield server
    server.stop()


def test_fifty_concurrent_submissions_against_five_reservations_accept_exactly_five(money_server):
    key = money_server.command("create-account", "race@example.com", "--credits", "125")["api_key"]  # 5 x 25
    user = ApiUser(money_server, key)
    barrier = threading.Barrier(50)
    statuses = []

    def submit():
        session = requests.Session()
        barrier.wait()
        body = dict(BODY, fitness_func="import time\ndef fitness_func(a, b, c):\n    time.sleep(0.01)\n    return 1.0\n")
        response = session.post(money_server.api + "/submissions", json=body, timeout=60,
                                headers={"Authorization": f"Bearer {key}"})
        statuses.append(response.status_code)
        session.close()

    threads = [threading.Thread(target=submit) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses).count(202) == 5 and statuses.count(402) == 45, statuses
    accepted = user.get("/submissions", params={"limit": 100}).json()["data"]
    assert len(accepted) == 5
    for submission in accepted:
        user.wait(submission["id"])
    assert_ledger_adds_up(user)


def assert_ledger_adds_up(user):
    account = user.get("/account").json()["credits"]
    rows = []
    url = "/credits/ledger"
    params = {"limit": 100}
    while True:
        page = user.get(url, params=params).json()
        rows += page["data"]
        if not page["has_more"]:
            break
        params["cursor"] = page["next_cursor"]
    assert round(sum(r["amount"] for r in rows), 6) == account["available"]
    assert account["reserved"] == 0
    assert all(r["balance_after"] >= 0 for r in rows)
    return rows


def test_a_finished_run_is_charged_its_cpu_seconds_times_the_price(money_server):
    user = ApiUser(money_server, money_server.command("create-account", "c@example.com", "--credits", "100")["api_key"])
    source = "def fitness_func(ga, sol, idx):\n    x = 0\n    for i in range(20000):\n        x += i\n    return float(x)\n"
    submission = user.run(source, num_generations=20, sol_per_pop=10)
    assert submission["status"] == "succeeded"
    cpu = submission["usage"]["cpu_seconds"]
    assert cpu > 0.05
    assert submission["credits_charged"] == round(max(0.01, cpu * 2.5), 6)
    rows = assert_ledger_adds_up(user)
    mine = [(r["kind"], r["amount"]) for r in rows if r["submission_id"] == submission["id"]]
    assert mine == [("charge", -submission["credits_charged"]), ("release", 25.0), ("reserve", -25.0)]
    result = user.get("/results", params={"submission_id": submission["id"]}).json()["data"][0]
    assert result["credits_charged"] == submission["credits_charged"]


def test_a_run_the_users_code_failed_pays_for_what_it_used(money_server):
    user = ApiUser(money_server, money_server.command("create-account", "f@example.com", "--credits", "100")["api_key"])
    submission = user.run("def fitness_func(ga, sol, idx):\n    raise ValueError('no')\n")
    assert submission["status"] == "failed"
    assert submission["credits_charged"] == round(max(0.01, submission["usage"]["cpu_seconds"] * 2.5), 6)
    assert_ledger_adds_up(user)


def test_the_rate_limit_answers_429_with_headers(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 0, "RATE_LIMIT": "5/minute"}).start()
    try:
        user = ApiUser(server, server.command("create-account", "r@example.com")["api_key"])
        responses = [user.get(path) for path in ("/submissions", "/account", "/results", "/submissions",
                                                  "/credits/ledger", "/account")]
        assert [r.status_code for r in responses] == [200] * 5 + [429]  # one window for every endpoint
        first, refused = responses[0], responses[-1]
        assert first.headers["X-RateLimit-Limit"] == "5"
        assert first.headers["X-RateLimit-Remaining"] == "4"
        assert int(first.headers["X-RateLimit-Reset"]) > 1_700_000_000
        assert "Retry-After" not in first.headers
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        other = ApiUser(server, server.command("create-account", "o@example.com")["api_key"])
        assert other.get("/submissions").status_code == 200  # per key, not per server
        assert requests.get(server.api + "/health", timeout=10).status_code == 200  # no key, not limited
    finally:
        server.stop()


def test_one_account_runs_at_most_max_active_at_once(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 2, "MAX_ACTIVE": 1, "MAX_CPU_SECONDS": 10}).start()
    try:
        user = ApiUser(server, server.command("create-account", "a@example.com", "--credits", "100")["api_key"])
        slow = "import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(0.02)\n    return 1.0\n"
        ids = [user.submit(slow, num_generations=10, sol_per_pop=4)["id"] for _ in range(3)]
        peak = 0
        while True:
            statuses = [user.get(f"/submissions/{i}").json()["status"] for i in ids]
            peak = max(peak, statuses.count("running"))
            if all(s == "succeeded" for s in statuses):
                break
            time.sleep(0.02)
        assert peak == 1
        account = user.get("/account").json()
        assert account["limits"]["max_active"] == {"limit": 1, "used": 0}
    finally:
        server.stop()
