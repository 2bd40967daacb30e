"""A newcomer's first start: URLs that point at the server served, where to go, operator commands."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from conftest import Account, LiveServer, OVERVIEW_BODY
from test_web_support import token_in
from vilvik_server import create_app
from vilvik_server.key_cache import KEY_CACHE_SECONDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_banner(server, lines=5):
    return "".join(server.process.stdout.readline() for _ in range(lines))


def post_overview(server, key, **headers):
    return requests.post(server.api + "/submissions", data=OVERVIEW_BODY, timeout=30, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers})


def test_without_public_url_every_url_names_the_port_served_and_ignores_the_host_header(tmp_path):
    server = LiveServer(tmp_path / "instance").start()
    try:
        key = server.command("create-account", "ada@example.com", "--credits", "100")["api_key"]
        accepted = post_overview(server, key, Host="evil.example").json()
        base = server.url  # http://127.0.0.1:<the free port it picked>
        assert not base.endswith(":5000")
        assert accepted["status_url"] == f"{base}/api/v1/submissions/{accepted['id']}"
        assert accepted["result_url"].startswith(f"{base}/api/v1/results?")
        second = post_overview(server, key)
        assert second.headers["Location"] == f"{base}/api/v1/submissions/{second.json()['id']}"
        listed = requests.get(server.api + "/submissions?limit=1", timeout=30,
                              headers={"Authorization": f"Bearer {key}", "Host": "evil.example"}).json()
        assert listed["next_url"].startswith(f"{base}/api/v1/submissions?")
        spec = requests.get(server.api + "/openapi.json", timeout=30).json()
        # relative: the playground calls whichever host served it
        assert all(not server["url"].startswith(("http:", "https:")) for server in spec["servers"])
    finally:
        server.stop()


def test_a_public_url_wins_over_the_address_served(tmp_path):
    server = LiveServer(tmp_path / "instance", {"PUBLIC_URL": "https://vilvik.example.com"}).start()
    try:
        key = server.command("create-account", "ada@example.com", "--credits", "100")["api_key"]
        accepted = post_overview(server, key).json()
        assert accepted["status_url"] == f"https://vilvik.example.com/api/v1/submissions/{accepted['id']}"
        assert "website     https://vilvik.example.com/" in read_banner(server, 3)
    finally:
        server.stop()


def test_every_start_says_where_the_website_playground_and_key_are_but_never_the_key(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "dev-api-key").write_text("vk_the_secret_itself\n")
    server = LiveServer(instance).start()
    try:
        banner = read_banner(server)
    finally:
        server.stop()
    assert f"website     {server.url}/   (development login: dev@localhost / dev)" in banner
    assert f"playground  {server.url}/api/v1/docs" in banner
    assert f"kept in {instance / 'dev-api-key'}" in banner
    assert f"VILVIK_BASE_URL={server.url}" in banner and "export VILVIK_API_KEY=" in banner
    assert "vk_the_secret_itself" not in banner


def run_command(tmp_path, *args, check=True, stdin=None):
    env = {"VILVIK_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "vilvik_server", *args], env=env, capture_output=True, text=True,
                          timeout=60, input=stdin)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_serve_help_explains_each_flag(tmp_path):
    text = run_command(tmp_path, "serve", "--help").stdout
    assert "address to listen on" in text
    assert "0 picks a free one" in text and "THREADS setting" in text and "PUBLIC_URL" in text


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_command(tmp_path, "serve", "--port", str(port), check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"vilvik-server: cannot listen on 127.0.0.1:{port}: the address is in use" in done.stderr
    assert "--port" in done.stderr


def test_list_accounts_revoke_key_and_set_password(tmp_path):
    created = json.loads(run_command(tmp_path, "create-account", "ada@example.com", "--credits", "5").stdout)
    listed = [json.loads(line) for line in run_command(tmp_path, "list-accounts").stdout.splitlines()]
    assert listed == [{"account_id": created["account_id"], "email": "ada@example.com", "balance": 5,
                       "available": 5, "active_keys": 1, "can_log_in": False,
                       "created_at": listed[0]["created_at"]}]

    os.environ["VILVIK_INSTANCE_PATH"] = str(tmp_path)
    try:
        client = create_app({"WORKERS": 0, "LOG_LEVEL": "WARNING"}).test_client()
        headers = {"Authorization": f"Bearer {created['api_key']}"}
        assert client.get("/api/v1/account", headers=headers).status_code == 200
        revoked = json.loads(run_command(tmp_path, "revoke-key", created["api_key"]).stdout)
        assert revoked["revoked"] is True and revoked["prefix"] == created["api_key"][:10]
        # Another process revoked it: a running server stops taking it within its key cache's second.
        refused_by = time.monotonic() + KEY_CACHE_SECONDS + 1
        while client.get("/api/v1/account", headers=headers).status_code != 401:
            assert time.monotonic() < refused_by, "a key revoked by the command still works"
            time.sleep(0.05)
        assert run_command(tmp_path, "revoke-key", "nosuchkey000", check=False).returncode == 2

        run_command(tmp_path, "set-password", "ada@example.com", "--password", "correct horse")
        page = client.get("/login").get_data(as_text=True)
        response = client.post("/login", data={"email": "ada@example.com", "password": "correct horse",
                                               "csrf_token": token_in(page)})
        assert response.status_code == 302
        assert json.loads(run_command(tmp_path, "list-accounts").stdout)["can_log_in"] is True
        assert run_command(tmp_path, "set-password", "nobody@example.com", "--password", "x",
                           check=False).returncode == 2
    finally:
        del os.environ["VILVIK_INSTANCE_PATH"]


def test_the_cli_without_a_key_says_which_variable_or_flag_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("VILVIK_API_KEY", "VILVIK_KEY")}
    done = subprocess.run([sys.executable, "-m", "vilvik", "list"], env=dict(env, PYTHONPATH=ROOT),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert "VILVIK_API_KEY" in done.stderr and "--api-key" in done.stderr
    assert "Client(" not in done.stderr  # no Python advice to a shell user


def test_the_sdk_accepts_vilvik_key_as_an_older_name(monkeypatch):
    import vilvik

    monkeypatch.delenv("VILVIK_API_KEY", raising=False)
    monkeypatch.setenv("VILVIK_KEY", "vk_older_name")
    assert vilvik.Client().api_key == "vk_older_name"
    monkeypatch.setenv("VILVIK_API_KEY", "vk_new_name")
    assert vilvik.Client().api_key == "vk_new_name"


@pytest.mark.parametrize("ceiling, asked, expected", [(300, None, 60), (300, 120, 120), (30, None, 30)])
def test_a_run_without_a_cpu_limit_gets_the_default_and_reserves_up_to_that(tmp_path, monkeypatch, ceiling, asked,
                                                                             expected):
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"WORKERS": 0, "LOG_LEVEL": "WARNING", "MAX_CPU_SECONDS": ceiling})
    owner = Account(app, "owner@example.com", credits=1000)
    body = json.loads(OVERVIEW_BODY)
    if asked:
        body["limits"] = {"cpu_seconds": asked}
    client = app.test_client()
    accepted = client.post("/api/v1/submissions", json=body, headers=owner.headers).get_json()
    assert accepted["credits_reserved"] == expected
    shown = client.get(f"/api/v1/submissions/{accepted['id']}", headers=owner.headers).get_json()
    assert shown["limits"]["cpu_seconds"] == expected


def test_a_continuation_estimates_its_cost_from_its_parents_cpu_per_generation(api_user):
    parent = api_user.run("def fitness_func(ga, sol, idx):\n    return float(sum(sol))\n", num_generations=10)
    response = api_user.post(f"/submissions/{parent['id']}/continue", {"num_generations": 20})
    assert response.status_code == 202, response.text
    accepted = response.json()
    per_generation = parent["usage"]["cpu_seconds"] / parent["progress"]["generations_completed"]
    assert accepted["credits_estimate"] == pytest.approx(max(0.01, per_generation * 20), abs=1e-5)
    assert accepted["credits_estimate"] <= accepted["credits_reserved"] == 20  # the live server's ceiling
