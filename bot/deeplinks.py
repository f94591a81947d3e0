"""Deep-link payloads (t.me/<bot>?start=<payload>): Telegram's rules, and what each kind opens."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Telegram allows up to 64 characters of A-Z, a-z, 0-9, _ and - in a start parameter.
PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# "<kind>_<id>" or "<kind>_<id>_<code>".
SHAPE = re.compile(r"^([a-z]{1,8})_([0-9]{1,12})(?:_([A-Za-z0-9-]{1,40}))?$")
EVENT = "ev"  # opens an event card
CHECK_IN = "ci"  # checks the person in at the venue; carries the event's check-in code
VOTE = "vote"  # opens a voting round
KINDS = {EVENT, CHECK_IN, VOTE}


@dataclass(frozen=True)
class DeepLink:
    kind: str
    target_id: int
    code: str | None = None

    def payload(self) -> str:
        text = f"{self.kind}_{self.target_id}" + (f"_{self.code}" if self.code else "")
        if not PAYLOAD.match(text):
            raise ValueError(f"deep-link payload {text!r} breaks Telegram's rules")
        return text


def parse(payload: str) -> DeepLink | None:
    """The link a payload stands for, or None when it is malformed or of no kind we open."""
    if not PAYLOAD.match(payload):
        return None
    match = SHAPE.match(payload)
    if match is None or match.group(1) not in KINDS:
        return None
    return DeepLink(match.group(1), int(match.group(2)), match.group(3))
