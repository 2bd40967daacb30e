"""Lists are cursor-paginated newest first, and a cursor survives rows being added and deleted."""
import pytest

BODY = {"num_generations": 10, "sol_per_pop": 4, "num_genes": 3, "num_parents_mating": 2,
        "fitness_func": "def fitness_func(ga, sol, idx): return sum(sol)\n"}


def submit(client, owner, name):
    response = client.post("/api/v1/submissions", json=dict(BODY, name=name), headers=owner.headers)
    assert response.status_code == 202
    return response.get_json()["id"]


def test_it_pages_newest_first_without_skipping_or_repeating_while_rows_arrive(app, client, owner):
    ids = [submit(client, owner, f"job {i}") for i in range(25)]
    first = client.get("/api/v1/submissions?limit=10", headers=owner.headers).get_json()
    assert first["object"] == "list" and first["has_more"] is True
    assert [s["id"] for s in first["data"]] == ids[::-1][:10]
    assert first["next_url"].startswith("http://127.0.0.1:5000/api/v1/submissions?")
    assert "limit=10" in first["next_url"]

    for i in range(5):  # new rows and a deleted row must not disturb the walk
        submit(client, owner, f"late {i}")
    with app.extensions["vilvik"].db.transaction() as conn:
        conn.execute("DELETE FROM submissions WHERE id = ?", (ids[5],))

    seen = [s["id"] for s in first["data"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/api/v1/submissions?limit=10&cursor={cursor}", headers=owner.headers).get_json()
        seen += [s["id"] for s in page["data"]]
        cursor = page["next_cursor"]
        assert page["has_more"] == (cursor is not None)
    expected = [i for i in ids[::-1] if i != ids[5]]
    assert seen == expected


def test_it_filters_by_status_and_name_prefix(client, owner):
    submit(client, owner, "alpha one")
    submit(client, owner, "alpha two")
    submit(client, owner, "beta")
    names = [s["name"] for s in client.get("/api/v1/submissions?name=alpha", headers=owner.headers)
             .get_json()["data"]]
    assert names == ["alpha two", "alpha one"]
    assert len(client.get("/api/v1/submissions?status=queued", headers=owner.headers).get_json()["data"]) == 3
    assert client.get("/api/v1/submissions?status=succeeded", headers=owner.headers).get_json()["data"] == []


def test_it_filters_by_creation_time(client, owner):
    submit(client, owner, "old")
    assert client.get("/api/v1/submissions?created_after=2999-01-01T00:00:00Z",
                      headers=owner.headers).get_json()["data"] == []
    assert len(client.get("/api/v1/submissions?created_before=2999-01-01T00:00:00Z",
                          headers=owner.headers).get_json()["data"]) == 1


@pytest.mark.parametrize("query", ["created_before=0001-01-01T00:00:00%2B14:00",
                                   "created_after=9999-12-31T23:59:59-14:00"])
def test_a_time_outside_the_utc_calendar_is_a_validation_error_not_a_500(client, owner, query):
    response = client.get(f"/api/v1/submissions?{query}", headers=owner.headers)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["param"] == query.split("=")[0]


def test_it_refuses_a_cursor_it_did_not_issue(client, owner):
    response = client.get("/api/v1/submissions?cursor=garbage!", headers=owner.headers)
    assert response.status_code == 422
    assert "cursor" in response.get_json()["error"]["details"]["fields"]
