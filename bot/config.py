"""Configuration: the TOML file, secrets from the environment, and checks that name the bad key."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import PROJECT_ROOT
from bot.i18n import LANGUAGES

# Telegram tokens are "<bot id>:<secret>"; checking the shape catches a pasted URL or a quote.
TOKEN_PATTERN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
DEFAULT_CONFIG_PATHS = (Path("config.toml"), PROJECT_ROOT / "config.toml")
EXAMPLE_CONFIG = PROJECT_ROOT / "config.example.toml"
# More is not faster: httpx's connection pool slows with each connection it holds; with every
# Bot API call taking 100 ms, 32 people at once handled twice the updates per second of 64.
DEFAULT_MAX_CONCURRENT_UPDATES = 32
# Telegram's broadcast limit is about 30 messages a second; a margin below it.
DEFAULT_OUTBOX_RATE = 25.0


class ConfigError(Exception):
    """A configuration problem, told as one line that names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class TownConfig:
    slug: str
    name: str
    timezone: str


@dataclass(frozen=True)
class ChapterConfig:
    slug: str
    titles: dict[str, str]


@dataclass(frozen=True)
class WebhookConfig:
    listen: str
    port: int
    url: str
    secret_token: str


@dataclass(frozen=True)
class Config:
    token: str
    database: Path
    # The ballot key's file; beside the database unless configured elsewhere (README).
    ballot_key_file: Path
    default_language: str
    admins: frozenset[int]
    api_base_url: str
    api_base_file_url: str
    timezone: str
    towns: tuple[TownConfig, ...] = ()
    chapters: tuple[ChapterConfig, ...] = ()
    webhook: WebhookConfig | None = None
    max_concurrent_updates: int = DEFAULT_MAX_CONCURRENT_UPDATES
    outbox_rate: float = DEFAULT_OUTBOX_RATE
    public_channel: int | None = None
    source: Path | None = field(default=None, compare=False)


def find_config_file(explicit: str | None, environ: dict[str, str]) -> Path:
    """The file to read: the one asked for, ``BASHKE_CONFIG``, ``config.toml``, or the example."""
    if explicit:
        return Path(explicit)
    if environ.get("BASHKE_CONFIG"):
        return Path(environ["BASHKE_CONFIG"])
    for candidate in DEFAULT_CONFIG_PATHS:
        if candidate.is_file():
            return candidate
    return EXAMPLE_CONFIG


def load_config(
    path: Path, environ: dict[str, str] | None = None, *, require_token: bool = True
) -> Config:
    """Read and check the configuration; raise ConfigError naming the first bad key."""
    env = dict(os.environ) if environ is None else environ
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot be read ({exc.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML ({exc})") from None
    return parse_config(raw, env, source=path, require_token=require_token)


def parse_config(
    raw: dict[str, Any],
    env: dict[str, str],
    *,
    source: Path | None = None,
    require_token: bool = True,
) -> Config:
    bot = _table(raw, "bot")
    token = env.get("BOT_TOKEN", "").strip()
    if require_token:
        if not token:
            raise ConfigError("BOT_TOKEN", "is not set; get a token from @BotFather")
        if not TOKEN_PATTERN.match(token):
            raise ConfigError("BOT_TOKEN", "does not look like a token from @BotFather")

    default_language = _str(bot, "bot.default_language", "en")
    if default_language not in LANGUAGES:
        raise ConfigError(
            "bot.default_language",
            f"unknown language {default_language!r}; available: {', '.join(LANGUAGES)}",
        )
    timezone = _timezone(bot, "bot.timezone", "Europe/Tirane")

    admins_raw = bot.get("admins", [])
    if not isinstance(admins_raw, list) or not all(
        isinstance(a, int) and not isinstance(a, bool) and a > 0 for a in admins_raw
    ):
        raise ConfigError("bot.admins", "must be a list of Telegram user ids (positive numbers)")

    database = env.get("BASHKE_DATABASE") or _str(bot, "bot.database", "bashke.sqlite3")
    ballot_key_file = env.get("BASHKE_BALLOT_KEY_FILE") or _str(
        bot, "bot.ballot_key_file", database + ".ballot-key"
    )
    max_updates = bot.get("max_concurrent_updates", DEFAULT_MAX_CONCURRENT_UPDATES)
    if not isinstance(max_updates, int) or isinstance(max_updates, bool) or max_updates < 1:
        raise ConfigError("bot.max_concurrent_updates", "must be a whole number of at least 1")

    outbox_rate = bot.get("outbox_rate", DEFAULT_OUTBOX_RATE)
    if (
        not isinstance(outbox_rate, int | float)
        or isinstance(outbox_rate, bool)
        or not 0 < outbox_rate <= 1000
    ):
        raise ConfigError("bot.outbox_rate", "must be a number of messages a second, above 0")

    channel = bot.get("public_channel")
    if channel is not None and (
        not isinstance(channel, int) or isinstance(channel, bool) or channel >= 0
    ):
        raise ConfigError(
            "bot.public_channel", "must be the channel's numeric id (negative, like -100123…)"
        )

    api_base_url = env.get("BASHKE_API_BASE_URL") or _str(
        bot, "bot.api_base_url", "https://api.telegram.org/bot"
    )
    api_base_file_url = env.get("BASHKE_API_BASE_FILE_URL") or _str(
        bot, "bot.api_base_file_url", "https://api.telegram.org/file/bot"
    )
    for key, url in (
        ("bot.api_base_url", api_base_url),
        ("bot.api_base_file_url", api_base_file_url),
    ):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(key, "must start with http:// or https://")

    return Config(
        token=token,
        database=Path(database),
        ballot_key_file=Path(ballot_key_file),
        default_language=default_language,
        admins=frozenset(admins_raw),
        api_base_url=api_base_url,
        api_base_file_url=api_base_file_url,
        timezone=timezone,
        towns=_towns(raw),
        chapters=_chapters(raw),
        webhook=_webhook(raw, env),
        max_concurrent_updates=max_updates,
        outbox_rate=float(outbox_rate),
        public_channel=channel,
        source=source,
    )


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table")
    return value


def _str(table: dict[str, Any], key: str, default: str | None = None) -> str:
    value = table.get(key.rsplit(".", 1)[-1], default)
    if value is None:
        raise ConfigError(key, "is missing")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, "must be a non-empty string")
    return value.strip()


def _timezone(table: dict[str, Any], key: str, default: str | None = None) -> str:
    name = _str(table, key, default)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            key, f"unknown time zone {name!r} (use an IANA name like Europe/Rome)"
        ) from None
    return name


def _slug(table: dict[str, Any], key: str) -> str:
    slug = _str(table, key)
    if not SLUG_PATTERN.match(slug):
        raise ConfigError(key, "must be lowercase letters, digits, '-' or '_' (at most 32)")
    return slug


def _towns(raw: dict[str, Any]) -> tuple[TownConfig, ...]:
    towns = raw.get("towns", [])
    if not isinstance(towns, list):
        raise ConfigError("towns", "must be an array of tables ([[towns]])")
    result: list[TownConfig] = []
    for index, town in enumerate(towns):
        prefix = f"towns[{index}]"
        if not isinstance(town, dict):
            raise ConfigError(prefix, "must be a table")
        slug = _slug(town, f"{prefix}.slug")
        if any(t.slug == slug for t in result):
            raise ConfigError(f"{prefix}.slug", f"{slug!r} is used twice")
        result.append(
            TownConfig(
                slug=slug,
                name=_str(town, f"{prefix}.name"),
                timezone=_timezone(town, f"{prefix}.timezone"),
            )
        )
    return tuple(result)


def _chapters(raw: dict[str, Any]) -> tuple[ChapterConfig, ...]:
    chapters = raw.get("chapters", [])
    if not isinstance(chapters, list):
        raise ConfigError("chapters", "must be an array of tables ([[chapters]])")
    result: list[ChapterConfig] = []
    for index, chapter in enumerate(chapters):
        prefix = f"chapters[{index}]"
        if not isinstance(chapter, dict):
            raise ConfigError(prefix, "must be a table")
        slug = _slug(chapter, f"{prefix}.slug")
        titles = chapter.get("title")
        if not isinstance(titles, dict) or not titles:
            raise ConfigError(f"{prefix}.title", "must be a table of titles by language")
        for language, title in titles.items():
            if language not in LANGUAGES:
                raise ConfigError(f"{prefix}.title.{language}", "unknown language")
            if not isinstance(title, str) or not title.strip():
                raise ConfigError(f"{prefix}.title.{language}", "must be a non-empty string")
        result.append(ChapterConfig(slug=slug, titles=dict(titles)))
    return tuple(result)


def _webhook(raw: dict[str, Any], env: dict[str, str]) -> WebhookConfig | None:
    webhook = _table(raw, "webhook")
    if not webhook.get("enabled", False):
        return None
    url = _str(webhook, "webhook.url")
    if not url.startswith("https://"):
        raise ConfigError("webhook.url", "must be an https:// address Telegram can reach")
    port = webhook.get("port", 8443)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ConfigError("webhook.port", "must be a port number from 1 to 65535")
    secret = env.get("BASHKE_WEBHOOK_SECRET", "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ConfigError("BASHKE_WEBHOOK_SECRET", "must be 1-256 of A-Z, a-z, 0-9, _ and -")
    return WebhookConfig(
        listen=_str(webhook, "webhook.listen", "127.0.0.1"), port=port, url=url, secret_token=secret
    )
