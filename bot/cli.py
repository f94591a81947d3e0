"""The command line: ``python -m bot run | migrate | backup PATH | check-config``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from bot import logs
from bot.config import Config, ConfigError, find_config_file, load_config
from bot.db import Database, MigrationError
from bot.lock import AlreadyRunning, single_instance

log = logging.getLogger("bashke")


def _global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """--config and --log-level, accepted before the command and after it. After it, they do
    not default: a value given before the command stays."""
    parser.add_argument(
        "--config",
        default=None if defaults else argparse.SUPPRESS,
        help="the TOML file (default: $BASHKE_CONFIG or config.toml)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("BASHKE_LOG_LEVEL", "INFO") if defaults else argparse.SUPPRESS,
        help="DEBUG, INFO, WARNING or ERROR (default: $BASHKE_LOG_LEVEL or INFO)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Bashkë, the network's bot.")
    _global_options(parser, defaults=True)
    after = argparse.ArgumentParser(add_help=False)
    _global_options(after, defaults=False)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", parents=[after], help="run the bot (the default)")
    commands.add_parser("migrate", parents=[after], help="bring the database to this code's schema")
    backup = commands.add_parser(
        "backup", parents=[after], help="an online, consistent copy of the database"
    )
    backup.add_argument("path", type=Path)
    commands.add_parser("check-config", parents=[after], help="check the configuration and exit")
    args = parser.parse_args(argv)
    command = args.command or "run"

    logs.set_up(args.log_level)
    try:
        path = find_config_file(args.config, dict(os.environ))
        config = load_config(path, require_token=command in ("run", "check-config"))
        if command == "run":
            log.info("configuration from %s; database %s", path, config.database)
            with single_instance(config.database):
                asyncio.run(_migrate(config))
                from handlers.application import run  # Telegram is needed only to run.

                stopped_because = run(config)
            if stopped_because is not None:
                print(f"stopped: {logs.redact(stopped_because)}", file=sys.stderr)
                return 4
        elif command == "migrate":
            applied = asyncio.run(_migrate(config))
            print(f"applied: {', '.join(applied)}" if applied else "the database is up to date")
        elif command == "backup":
            if not config.database.is_file():
                raise ConfigError("bot.database", f"{config.database} does not exist")
            if args.path.exists() and not args.path.is_symlink():
                raise ConfigError("backup PATH", f"{args.path} exists already; choose a new file")
            asyncio.run(_backup(config, args.path))
            print(f"backed up {config.database} to {args.path}")
        else:
            print(f"{path}: the configuration is valid")
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except MigrationError as exc:
        print(f"database error: {exc}", file=sys.stderr)
        return 3
    except AlreadyRunning as exc:
        print(f"not started: {exc}", file=sys.stderr)
        return 5
    except KeyboardInterrupt:
        return 130
    return 0


async def _migrate(config: Config) -> list[str]:
    async with Database(config.database) as db:
        return await db.migrate()


async def _backup(config: Config, target: Path) -> None:
    async with Database(config.database) as db:
        await db.backup(target)
