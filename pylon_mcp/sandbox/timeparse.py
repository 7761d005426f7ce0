"""Time parsing the way Pylon's Go server does it: `time.Parse(time.RFC3339, s)`.

Written separately from the client's parser on purpose: if the client ever
sends a time Pylon would refuse, the sandbox must refuse it too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_GO_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))",
)


def parse_time(text: str) -> float:
    """Epoch seconds for an RFC3339 string; ValueError if Go would reject it."""
    match = _GO_RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"invalid RFC3339 time {text!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = match.group(7) or ""
    if match.group(8):
        tz = UTC
    else:
        sign = 1 if match.group(9) == "+" else -1
        hours, minutes = int(match.group(10)), int(match.group(11))
        if hours > 23 or minutes > 59:
            raise ValueError(f"invalid offset in {text!r}")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    moment = datetime(year, month, day, hour, minute, second, tzinfo=tz)  # ValueError on 2026-02-30
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)
