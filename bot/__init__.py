"""Bashkë core: configuration, database, services, languages and delivery — no Telegram types."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
