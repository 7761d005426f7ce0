"""When and how long to wait before repeating a request to Pylon."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

from pylon_mcp.pylon.timefmt import utcnow

# The longest a 429 holds back later calls to its endpoint, whatever Retry-After says. Pylon's limits
# are per minute, so a longer wait is a proxy's or an error's; after it, one call probes again.
COOLDOWN_CAP_SECONDS = 60.0

# Statuses where Pylon did not do the work (429) or a proxy in front of it failed (502-504).
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring Retry-After up to a cap.

    `max_retry_after` is the longest wait we accept inside one tool call: past
    it we give up at once and report the wait, so a model is never stuck for a
    minute inside a call it cannot see.
    """

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0
    max_retry_after: float = 20.0
    max_cooldown: float = COOLDOWN_CAP_SECONDS

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before retry number `attempt` (1-based) when Pylon gave no Retry-After."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return (rng or random).uniform(ceiling / 2, ceiling)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `Retry-After` or `X-Retry-After` (seconds or an HTTP date)."""
    for name in ("retry-after", "x-retry-after"):
        raw = headers.get(name)
        if raw is None:
            continue
        raw = raw.strip()
        try:
            seconds = float(raw)
        except ValueError:
            from email.utils import parsedate_to_datetime  # rare path; `email` costs ~6 ms at start-up

            try:
                when = parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                continue
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - utcnow()).total_seconds()
        if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
            continue
        return max(0.0, seconds)
    return None
