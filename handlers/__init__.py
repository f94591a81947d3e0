"""The Telegram face of Bashkë: thin handlers that call services in ``bot`` and render replies."""

import os

# python-telegram-bot's documented opt-in to its next major version's time periods: a
# RetryAfter's retry_after is a timedelta (handlers/delivery.py takes either), and reading it
# no longer warns that the int form is deprecated.
os.environ.setdefault("PTB_TIMEDELTA", "true")
