"""`/readyz`: can this replica do its job? Pylon answers with our token, and the shared state answers.

The Pylon check (`GET /me`) is cached for a few seconds so probes don't spend Pylon's
rate limit; the shared-state check (a Redis PING) is cheap and not cached, so an outage
shows on the next probe. `/healthz` stays a liveness check that touches nothing.
"""

from __future__ import annotations

import time
from typing import Any

from pylon_mcp.pylon.errors import PylonError
from pylon_mcp.render.errors import describe
from pylon_mcp.state import StateHolder

PYLON_CHECK_TTL = 10.0  # seconds


class Readiness:
    def __init__(self, holder: StateHolder, clock: Any = time.monotonic) -> None:
        self._holder = holder
        self._clock = clock
        self._pylon: tuple[float, str | None] | None = None  # (checked at, problem)

    async def check(self) -> tuple[bool, dict[str, str]]:
        state = self._holder.current
        if state is None:
            return False, {"status": "starting"}
        now = self._clock()
        if self._pylon is None or now - self._pylon[0] > PYLON_CHECK_TTL:
            try:
                await state.pylon.me()
                problem = None
            except PylonError as exc:
                problem = describe(exc)
            self._pylon = (now, problem)
        pylon_problem = self._pylon[1]
        shared_problem = await state.shared.problem()
        body = {
            "status": "ready" if not (pylon_problem or shared_problem) else "not ready",
            "pylon": pylon_problem or "ok",
            "shared_state": f"{state.shared.kind}: {shared_problem or 'ok'}",
        }
        if shared_problem:
            body["writes"] = "creates with idempotency_key are refused until the shared state is back"
        return not (pylon_problem or shared_problem), body
