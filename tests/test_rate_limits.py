"""The account-wide request limit beside the per-key one, over the wire."""
import requests

from conftest import ApiUser, LiveServer


def _second_key(user, name):
    response = user.post("/keys", {"name": name})
    assert response.status_code == 201, response.text
    return ApiUser(user.server, response.json()["secret"])


def test_more_keys_do_not_multiply_what_an_account_may_send(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 0, "RATE_LIMIT": "5/minute",
                                                "ACCOUNT_RATE_LIMIT": "7/minute"}).start()
    try:
        first = ApiUser(server, server.command("create-account", "many@example.com")["api_key"])
        second = _second_key(first, "second")  # the account's 1st request
        third = _second_key(first, "third")  # its 2nd

        # The key's own window is the closer one: its headers say so.
        response = first.get("/submissions")  # the key's 3rd, the account's 3rd
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Scope"] == "key"
        assert (response.headers["X-RateLimit-Limit"], response.headers["X-RateLimit-Remaining"]) == ("5", "2")

        # A fresh key has 4 left after this, the account 3: the account's window is named.
        response = second.get("/submissions")  # the account's 4th
        assert response.headers["X-RateLimit-Scope"] == "account"
        assert (response.headers["X-RateLimit-Limit"], response.headers["X-RateLimit-Remaining"]) == ("7", "3")

        statuses = [second.get("/submissions").status_code for _ in range(3)]  # the account's 5th..7th
        assert statuses == [200] * 3
        refused = third.get("/submissions")  # third's 1st request, the account's 8th
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "rate_limited"
        assert error["details"] == {"scope": "account", "limit": 7}
        assert error["request_id"] == refused.headers["X-Request-Id"]
        assert refused.headers["X-RateLimit-Scope"] == "account"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert 0 < int(refused.headers["Retry-After"]) <= 60

        # Another account is not affected, and a request without a key is not counted.
        other = ApiUser(server, server.command("create-account", "other@example.com")["api_key"])
        assert other.get("/submissions").status_code == 200
        assert requests.get(server.api + "/health", timeout=10).status_code == 200
    finally:
        server.stop()


def test_a_key_past_its_own_limit_is_refused_naming_the_key(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 0, "RATE_LIMIT": "3/minute",
                                                "ACCOUNT_RATE_LIMIT": "100/minute"}).start()
    try:
        user = ApiUser(server, server.command("create-account", "key@example.com")["api_key"])
        assert [user.get("/account").status_code for _ in range(3)] == [200] * 3
        refused = user.get("/account")
        assert refused.status_code == 429
        assert refused.json()["error"]["details"] == {"scope": "key", "limit": 3}
        assert refused.headers["X-RateLimit-Scope"] == "key"
        # An unknown key is counted too (before it is looked up), in its own window.
        stranger = requests.Session()
        stranger.headers["Authorization"] = "Bearer vk_not_a_key"
        statuses = [stranger.get(server.api + "/account", timeout=10).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
    finally:
        server.stop()


def test_account_shows_both_windows(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 0, "RATE_LIMIT": "50/minute",
                                                "ACCOUNT_RATE_LIMIT": "70/minute"}).start()
    try:
        user = ApiUser(server, server.command("create-account", "show@example.com")["api_key"])
        limits = user.get("/account").json()["limits"]
        assert limits["rate_limit"]["limit"] == "50/minute" and limits["rate_limit"]["remaining"] == 49
        assert limits["account_rate_limit"]["limit"] == "70/minute"
        assert limits["account_rate_limit"]["remaining"] == 69
    finally:
        server.stop()


def test_the_in_memory_windows_answer_exactly_as_the_limits_library(monkeypatch):
    """Hit by hit over several windows: allowed or not, remaining and reset, against limits' own
    sliding-window counter on its memory storage."""
    import random
    import time

    from limits import parse
    from limits.storage import MemoryStorage
    from limits.strategies import SlidingWindowCounterRateLimiter

    from vilvik_server.ratelimit import MemoryWindows

    clock = [1_800_000_000.25]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    ours, theirs = MemoryWindows(), SlidingWindowCounterRateLimiter(MemoryStorage())
    chance = random.Random(7)
    for rate in ("5/second", "7/minute", "3/hour"):
        limit = parse(rate)
        step = limit.get_expiry() / 9
        for _ in range(200):
            clock[0] += chance.choice([0, 0, step * 0.1, step, step * 3, limit.get_expiry() * 2.5])
            identity = chance.choice(["a", "b"])
            assert ours.test(limit, "key", identity) == theirs.test(limit, "key", identity)
            allowed, reset_at, remaining = ours.hit_with_stats(limit, "key", identity)
            assert allowed == theirs.hit(limit, "key", identity)
            expected_reset, expected_remaining = theirs.get_window_stats(limit, "key", identity)
            assert remaining == expected_remaining
            assert abs(reset_at - expected_reset) < 1e-6


def test_the_public_routes_answer_a_key_past_its_limit_without_counting_it(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 0, "RATE_LIMIT": "2/minute",
                                                "ACCOUNT_RATE_LIMIT": "100/minute"}).start()
    try:
        user = ApiUser(server, server.command("create-account", "public@example.com")["api_key"])
        assert [user.get("/account").status_code for _ in range(3)] == [200, 200, 429]
        # A health probe or a tool fetching the document with the key in its headers: no key is needed there.
        for path in ("/health", "/openapi.json", "/docs"):
            response = user.get(path)
            assert response.status_code == 200, (path, response.text[:200])
            assert "X-RateLimit-Limit" not in response.headers, path
    finally:
        server.stop()
