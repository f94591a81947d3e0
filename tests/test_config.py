"""Configuration: a bad value stops the start with one line naming the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import PROJECT_ROOT
from bot.cli import main
from bot.config import EXAMPLE_CONFIG, ConfigError, load_config, parse_config
from tests.conftest import RAW_CONFIG, TOKEN

ENV = {"BOT_TOKEN": TOKEN}


def test_the_example_configuration_is_valid() -> None:
    config = load_config(PROJECT_ROOT / "config.example.toml", ENV)
    assert config.default_language == "en"
    assert [t.slug for t in config.towns] == ["shkoder", "tirane", "bari", "lviv"]
    assert config.chapters[0].titles["sq"] == "Luftimi i stigmës etnike"
    assert config.webhook is None


def test_environment_overrides_database_and_api_address() -> None:
    config = parse_config(
        RAW_CONFIG,
        {
            **ENV,
            "BASHKE_DATABASE": "/tmp/x.sqlite3",
            "BASHKE_API_BASE_URL": "http://127.0.0.1:9/bot",
        },
    )
    assert str(config.database) == "/tmp/x.sqlite3"
    assert config.api_base_url == "http://127.0.0.1:9/bot"


@pytest.mark.parametrize(
    ("raw", "env", "key"),
    [
        (RAW_CONFIG, {}, "BOT_TOKEN"),
        (RAW_CONFIG, {"BOT_TOKEN": "https://t.me/not-a-token"}, "BOT_TOKEN"),
        (RAW_CONFIG, {"BOT_TOKEN": "12345:short"}, "BOT_TOKEN"),
        ({"bot": {"timezone": "Mars/Olympus"}}, ENV, "bot.timezone"),
        ({"bot": {"default_language": "fr"}}, ENV, "bot.default_language"),
        ({"bot": {"admins": ["alice"]}}, ENV, "bot.admins"),
        ({"bot": {"admins": 5}}, ENV, "bot.admins"),
        ({"bot": {"api_base_url": "ftp://x"}}, ENV, "bot.api_base_url"),
        ({"bot": {"max_concurrent_updates": 0}}, ENV, "bot.max_concurrent_updates"),
        ({"bot": [1]}, ENV, "bot"),
        (
            {"towns": [{"slug": "x", "name": "X", "timezone": "Nowhere/Town"}]},
            ENV,
            "towns[0].timezone",
        ),
        ({"towns": [{"slug": "Bad Slug", "name": "X", "timezone": "UTC"}]}, ENV, "towns[0].slug"),
        ({"towns": [{"slug": "x", "timezone": "UTC"}]}, ENV, "towns[0].name"),
        ({"chapters": [{"slug": "a", "title": {"fr": "Chapitre"}}]}, ENV, "chapters[0].title.fr"),
        ({"webhook": {"enabled": True, "url": "http://insecure"}}, ENV, "webhook.url"),
        ({"webhook": {"enabled": True, "url": "https://x.org/t"}}, ENV, "BASHKE_WEBHOOK_SECRET"),
        ({"webhook": {"enabled": True, "url": "https://x.org/t", "port": 0}}, ENV, "webhook.port"),
        (
            {"webhook": {"enabled": True, "url": "https://x.org/t"}},
            {**ENV, "BASHKE_WEBHOOK_SECRET": "has spaces"},
            "BASHKE_WEBHOOK_SECRET",
        ),
    ],
)
def test_a_bad_value_names_its_key(raw: dict[str, object], env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")


def test_webhook_mode() -> None:
    raw = {"webhook": {"enabled": True, "url": "https://bashke.example.org/telegram", "port": 8443}}
    config = parse_config(raw, {**ENV, "BASHKE_WEBHOOK_SECRET": "s3cret_value"})
    assert config.webhook is not None
    assert (config.webhook.port, config.webhook.secret_token) == (8443, "s3cret_value")


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml", ENV)
    broken = tmp_path / "broken.toml"
    broken.write_text("[bot\nadmins = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken, ENV)


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "BASHKE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, "PYTHONPATH": str(PROJECT_ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("toml", "env", "expected"),
    [
        ("", {}, "BOT_TOKEN: is not set"),
        ("", {"BOT_TOKEN": "nonsense"}, "BOT_TOKEN: does not look like a token"),
        ('[bot]\ntimezone = "Europe/Atlantis"\n', {"BOT_TOKEN": TOKEN}, "bot.timezone: unknown"),
        ('[bot]\ndefault_language = "xx"\n', {"BOT_TOKEN": TOKEN}, "bot.default_language"),
        ("[bot\n", {"BOT_TOKEN": TOKEN}, "is not valid TOML"),
    ],
)
def test_the_cli_stops_with_one_line_and_no_traceback(
    tmp_path: Path, toml: str, env: dict[str, str], expected: str
) -> None:
    (tmp_path / "config.toml").write_text(toml, encoding="utf-8")
    result = _cli("check-config", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_check_config_accepts_a_good_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[bot]\nadmins = [42]\n", encoding="utf-8")
    result = _cli("check-config", env={"BOT_TOKEN": TOKEN}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "the configuration is valid" in result.stdout


def test_unreadable_config_named_on_the_command_line(tmp_path: Path) -> None:
    result = _cli(
        "--config",
        str(tmp_path / "nope.toml"),
        "check-config",
        env={"BOT_TOKEN": TOKEN},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "nope.toml: file not found" in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "{path}", "check-config"],
        ["check-config", "--config", "{path}"],
        ["--log-level", "WARNING", "check-config", "--config", "{path}"],
        ["--config", "{path}", "check-config", "--log-level", "DEBUG"],
    ],
)
def test_the_global_options_go_before_or_after_the_command(
    argv: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    path = tmp_path / "mine.toml"
    path.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    assert main([arg.format(path=path) for arg in argv]) == 0
    assert capsys.readouterr().out == f"{path}: the configuration is valid\n"
