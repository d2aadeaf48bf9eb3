"""Durations ("15m", "24h", "7d") and points in time ("now", "2026-07-20T12:00", "24h" ago).

The CLI's --since/--until/--at and the alert thresholds file share these spellings, so one
parser serves both and its errors say which spellings are accepted.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION_FORMS = "a number and a unit: 30s, 15m, 24h, 7d or 2w"
TIME_FORMS = f"'now', an ISO time like 2026-07-20T12:00 or 2026-07-20 (UTC unless it names an offset), or a duration ago ({DURATION_FORMS})"


class TimeSpecError(ValueError):
    """A duration or time the user wrote that cannot be read; the message says what is accepted."""


def parse_duration(text: str | float, what: str = "duration") -> timedelta:
    """``"15m"`` -> 15 minutes. Plain numbers are seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise TimeSpecError(f"Cannot read the {what} {text!r}: write {DURATION_FORMS}.")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds <= 0:
        raise TimeSpecError(f"The {what} {text!r} must be longer than zero.")
    return timedelta(seconds=seconds)


def parse_time(text: str, now: datetime, what: str = "time") -> datetime:
    """A point in time: ``now``, an ISO date/time, or a duration meaning that long before ``now``."""
    value = text.strip()
    if value.lower() == "now":
        return now
    if _DURATION.match(value):
        return now - parse_duration(value, what)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TimeSpecError(f"Cannot read the {what} {text!r}: write {TIME_FORMS}.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
