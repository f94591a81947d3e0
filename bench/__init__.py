"""Benchmarks that print figures for Bashkë against a bare python-telegram-bot baseline."""
