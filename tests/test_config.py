"""Settings load from defaults, the instance file, then VILVIK_* variables, strictly parsed."""
import pytest

from vilvik_server.config import SETTINGS, ConfigError, load_settings


def test_it_fills_every_default(tmp_path):
    settings = load_settings(str(tmp_path), environ={})
    assert settings["PUBLIC_URL"] is None  # `serve` fills in the address it listens on
    assert settings["DEFAULT_CPU_SECONDS"] == 60 and settings["MAX_CPU_SECONDS"] == 300
    assert settings["MAX_BODY_BYTES"] == 262144
    assert settings["DATABASE"] == str(tmp_path / "vilvik.sqlite3")
    assert len(settings["SECRET_KEY"]) > 40


def test_the_generated_secret_key_is_kept_and_private(tmp_path):
    first = load_settings(str(tmp_path), environ={})["SECRET_KEY"]
    assert load_settings(str(tmp_path), environ={})["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_the_environment_wins_over_the_instance_file(tmp_path):
    (tmp_path / "config.py").write_text("WORKERS = 3\nMAX_CPU_SECONDS = 10\n")
    settings = load_settings(str(tmp_path), environ={"VILVIK_WORKERS": "5"})
    assert settings["WORKERS"] == 5
    assert settings["MAX_CPU_SECONDS"] == 10


@pytest.mark.parametrize("name, value", [
    ("WORKERS", "two"), ("WORKERS", "-1"), ("PUBLIC_URL", "ftp://x"), ("RATE_LIMIT", "10 per day"),
    ("WEBHOOK_ALLOW_PRIVATE", "maybe"), ("CREDITS_PER_CPU_SECOND", "0"), ("MAX_MEMORY_MB", "1"),
])
def test_a_malformed_value_stops_start_up_naming_it(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings(str(tmp_path), environ={f"VILVIK_{name}": value})


def test_an_unknown_setting_in_the_instance_file_is_ignored_but_an_override_is_refused(tmp_path):
    (tmp_path / "config.py").write_text("SOMETHING_ELSE = 1\n")
    load_settings(str(tmp_path), environ={})
    with pytest.raises(ConfigError, match="NOT_A_SETTING"):
        load_settings(str(tmp_path), overrides={"NOT_A_SETTING": 1}, environ={})


def test_every_setting_has_help(tmp_path):
    for setting in SETTINGS:
        assert setting.help.strip(), setting.name


def test_a_bad_setting_stops_the_command_with_a_message(tmp_path):
    import subprocess
    import sys
    env = {"VILVIK_INSTANCE_PATH": str(tmp_path), "VILVIK_WORKERS": "lots", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "vilvik_server", "init"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert "WORKERS" in done.stderr and "Traceback" not in done.stderr


def test_a_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    assert load_settings(str(tmp_path), environ={"VILVIK_SECRET_KEY_FILE": str(secret)})["SECRET_KEY"] == "from-a-file"
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(str(tmp_path), environ={"VILVIK_SECRET_KEY_FILE": str(tmp_path / "missing")})


def test_the_jail_uid_range_must_fit_every_slot(tmp_path):
    assert load_settings(str(tmp_path), {"SANDBOX_UID_BASE": 64000, "WORKERS": 96}, environ={})["SANDBOX_UID_BASE"] == 64000
    with pytest.raises(ConfigError, match="SANDBOX_UID_BASE"):
        load_settings(str(tmp_path), {"SANDBOX_UID_BASE": 64000, "WORKERS": 97}, environ={})
    with pytest.raises(ConfigError, match="SANDBOX_UID_BASE"):
        load_settings(str(tmp_path), {"SANDBOX_UID_BASE": 1000}, environ={})
