"""Bad requests are 4xx before they cost anything; long-held requests are fenced per account.

Deeply nested JSON, forged cursors, odd Prefer headers and login `next=` values are
fuzzed through the app: none may give a 5xx, and a redirect never leaves the site.
"""
import base64
import threading
import time
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vilvik_server import create_app

from conftest import Account
from test_web_support import web_owner  # noqa: F401

BODY = {"num_generations": 2, "sol_per_pop": 4, "num_genes": 2, "num_parents_mating": 2,
        "fitness_func": "def fitness_func(ga, sol, idx):\n    return 1.0\n"}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _cursor(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# -- JSON nesting ------------------------------------------------------------------------------

def test_json_nested_past_recursion_is_400(client, owner):
    headers = {"Authorization": owner.headers["Authorization"], "Content-Type": "application/json"}
    response = client.post("/api/v1/submissions", data="[" * 100_000 + "]" * 100_000, headers=headers)
    assert response.status_code == 400, response.data[:300]
    assert response.get_json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("body, content_type", [("[" * 100_000 + "]" * 100_000, "application/json"),
                                                ("{bad", "application/json"), ("42", "application/json"),
                                                ("[1]", "application/json"), ("x", "text/plain")])
def test_a_wrong_key_is_401_whatever_the_body(client, owner, body, content_type):
    response = client.post("/api/v1/submissions", data=body,
                           headers={"Authorization": "Bearer vk_not_a_key", "Content-Type": content_type})
    assert response.status_code == 401, response.data[:300]
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_json_nested_deeper_than_the_limit_is_400(client, owner):
    def nested(depth):
        value = {}
        for _ in range(depth - 2):  # the body itself and the innermost {} are two levels
            value = {"x": value}
        return dict(BODY, metadata=value)
    # 32 levels reach validation (which refuses metadata that is not flat); 33 do not.
    assert client.post("/api/v1/submissions", json=nested(32), headers=owner.headers).status_code == 422
    response = client.post("/api/v1/submissions", json=nested(33), headers=owner.headers)
    assert response.status_code == 400 and "nested more than 32" in response.get_json()["error"]["message"]


@FUZZ
@given(depth=st.integers(1, 5000), opener=st.sampled_from(["[", '{"a":']), junk=st.binary(max_size=64))
def test_fuzz_nested_bodies_never_give_a_5xx(app, owner, depth, opener, junk):
    closer = "]" if opener == "[" else "}"
    body = (opener * depth + "1" + closer * depth).encode() + junk
    response = app.test_client().post("/api/v1/submissions", data=body, headers=dict(
        owner.headers, **{"Content-Type": "application/json"}))
    assert response.status_code < 500, response.data[:300]


# -- cursors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("cursor", [
    _cursor("v1:" + "9" * 30), _cursor("v1:99999999999999999999"), _cursor("v1:-1"), _cursor("v1:１２"),
    _cursor("v1: 12"), _cursor("v1:1_000"), _cursor("v1:" + "9" * 5000), "!!!", _cursor("v2:1"),
])
def test_a_forged_cursor_is_422(client, owner, cursor):
    for path in ("/api/v1/submissions", "/api/v1/results", "/api/v1/events", "/api/v1/credits/ledger"):
        response = client.get(path, query_string={"cursor": cursor}, headers=owner.headers)
        assert response.status_code == 422, (path, cursor, response.data[:300])
        assert response.get_json()["error"]["code"] == "validation_error"


@FUZZ
@given(seq=st.one_of(st.integers(), st.text(max_size=40)), raw=st.text(max_size=60))
def test_fuzz_cursors_never_give_a_5xx(app, owner, seq, raw):
    client = app.test_client()
    for cursor in (_cursor(f"v1:{seq}"), raw):
        response = client.get("/api/v1/submissions", query_string={"cursor": cursor}, headers=owner.headers)
        assert response.status_code in (200, 422), response.data[:300]


# -- Prefer: wait ------------------------------------------------------------------------------

@pytest.fixture
def waits_app(tmp_path, monkeypatch):
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app({"WORKERS": 0, "LOG_LEVEL": "WARNING", "MAX_CPU_SECONDS": 1,
                       "MAX_WAITS": 2, "MAX_WAITS_PER_ACCOUNT": 1})


def _post_waiting(app, account, wait, into):
    started = time.monotonic()
    response = app.test_client().post("/api/v1/submissions", json=BODY,
                                      headers=dict(account.headers, Prefer=f"wait={wait}"))
    into.append((response, time.monotonic() - started))


def test_waits_are_capped_per_account_and_in_all(waits_app):
    mallory, alice, bob = (Account(waits_app, f"{name}@example.com") for name in ("mallory", "alice", "bob"))
    held = []
    first = threading.Thread(target=_post_waiting, args=(waits_app, mallory, 3, held))
    first.start()
    time.sleep(0.5)
    # The same account past its share: 202 at once, without Preference-Applied.
    again = []
    _post_waiting(waits_app, mallory, 3, again)
    response, took = again[0]
    assert response.status_code == 202 and took < 1.5
    assert "Preference-Applied" not in response.headers
    # Another account still gets its wait ...
    other = threading.Thread(target=_post_waiting, args=(waits_app, alice, 2, held))
    other.start()
    time.sleep(0.5)
    # ... until the server's total is reached.
    third = []
    _post_waiting(waits_app, bob, 3, third)
    assert third[0][0].status_code == 202 and third[0][1] < 1.5
    assert "Preference-Applied" not in third[0][0].headers
    first.join()
    other.join()
    for response, took in held:
        assert response.status_code == 202 and took >= 1.9
        assert response.headers["Preference-Applied"].startswith("wait=")
    # Every wait given back: the account may wait again.
    assert waits_app.extensions["vilvik"].waits.held() == 0


@pytest.mark.parametrize("prefer", ["wait=" + "9" * 5000, "wait=0000000000000000000005", "wait=-1", "wait=abc"])
def test_odd_prefer_headers_are_no_5xx(client, owner, prefer):
    response = client.post("/api/v1/submissions", json=BODY, headers=dict(owner.headers, Prefer=prefer))
    assert response.status_code in (200, 202), response.data[:300]


@pytest.mark.parametrize("prefer, seconds", [("wait=5", 5), ("Wait=5", 5), ("respond-async, WAIT=7", 7),
                                              ("handling=strict; wait=70", 60), ("respond-async", None)])
def test_the_wait_preference_is_read_as_rfc_7240_writes_it_case_insensitive(prefer, seconds):
    from vilvik_server.api.waiting import preferred_wait

    assert preferred_wait(prefer) == seconds


# -- login next= -------------------------------------------------------------------------------

def _where_a_browser_goes(location):
    """Read a Location as a browser does (WHATWG URL parser): the host it leads to."""
    cleaned = location.strip("".join(map(chr, range(0x21)))).replace("\t", "").replace("\n", "").replace("\r", "")
    return urllib.parse.urlsplit(urllib.parse.urljoin("https://vilvik.example/login",
                                                      cleaned.replace("\\", "/"))).netloc


@pytest.mark.parametrize("target", [
    "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example", " //evil.example",
    "/\\evil.example", "\\\\evil.example", "//evil.example", "/\\/evil.example", "https://evil.example",
    "\x00//evil.example", "/%0a/x\r\nSet-Cookie: a=b", "javascript:alert(1)", "/\x0b/evil.example",
    "\x01/\x1f/evil.example",
])
def test_login_next_never_leads_off_the_site(client, web_owner, target):  # noqa: F811
    response = client.get("/login", query_string={"next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert _where_a_browser_goes(location) == "vilvik.example", location
    assert "\n" not in location and "\r" not in location


def test_login_next_keeps_a_local_path(client, web_owner):  # noqa: F811
    response = client.get("/login", query_string={"next": "/credits?x=1"})
    assert response.headers["Location"] == "/credits?x=1"


@FUZZ
@given(target=st.text(alphabet=st.sampled_from(list("/\\\t\r\n \x00\x0b.:@%evil") + ["é", "\u3000"]), max_size=24))
def test_fuzz_login_next(app, client, web_owner, target):  # noqa: F811
    response = client.get("/login", query_string={"next": target})
    assert response.status_code == 302, target
    assert _where_a_browser_goes(response.headers["Location"]) == "vilvik.example", (target, response.headers)
