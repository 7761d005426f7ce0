"""Run a create at most once per idempotency key: issues today, notes and replies next.

Pylon's API has no idempotency keys, so the server keeps a ledger (pylon_mcp/shared:
in this process, or in Redis shared by replicas). Each key is claimed atomically, so
concurrent calls with one key, on one replica or several, make one create:
- the first claims the key and creates; the others wait for its outcome;
- a repeat with the same key and the same arguments returns the first result;
- the same key with different arguments is refused;
- if an attempt ended ambiguously (Pylon may have created it but the answer was lost),
  or its replica died mid-call (its lease ran out), the key stays in the ledger as
  "unsure" and the next call first looks for what it made (`recover`) and returns that
  instead of creating another;
- if it is not there yet, but the unsure attempt could still land (Pylon may apply a
  request after we stopped waiting for its answer), nothing is sent: NotSettled says
  when it is safe to try again (`settles`, a window derived from the request timeout).
  Only a call after that window that still finds nothing sends again.
Records live WINDOW seconds. Keys are namespaced by `scope` ("issue", "note:<id>", …).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import anyio

from pylon_mcp.pylon.timefmt import format_rfc3339, utcnow
from pylon_mcp.shared.base import Ledger, Record

log = logging.getLogger("pylon_mcp.idempotency")

WINDOW = 600.0  # seconds a key is remembered
LEASE = 120.0  # seconds a claim may stay in progress before others treat its outcome as unknown
WAIT = 30.0  # longest a call waits for another call with the same key

SETTLE_MIN = 10.0  # seconds an unsure attempt may still land after it ended, at least…
SETTLE_MAX = 120.0  # …and at most, whatever the timeout

How = Literal["new", "repeat", "recovered"]


def settle_window(timeout: float) -> float:
    """How long after an unsure attempt ended Pylon may still apply it: twice the request timeout
    (it may have queued as long as we waited, and run as long again), bounded."""
    return min(max(2.0 * timeout, SETTLE_MIN), SETTLE_MAX)


class KeyReused(Exception):
    """The key was already used with different arguments."""


class StillRunning(Exception):
    """Another call with this key has not finished within WAIT seconds."""


class NotSettled(Exception):
    """An earlier attempt with this key ended unsure, is not found, and could still land: nothing sent."""

    def __init__(self, key: str, settles: float) -> None:
        super().__init__(key)
        self.key = key
        self.settles = settles  # epoch seconds after which a call that still finds nothing sends again

    @property
    def seconds_left(self) -> int:
        return max(1, math.ceil(self.settles - time.time()))

    @property
    def at(self) -> str:
        return when(self.settles)


def settles_from_now(settle: float) -> float:
    """Until when an attempt that ends unsure now may still land: whole seconds, as errors say it."""
    return float(math.ceil(time.time() + settle))


def when(settles: float) -> str:
    return format_rfc3339(datetime.fromtimestamp(math.ceil(settles), UTC))


def fingerprint(arguments: dict[str, Any]) -> str:
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run_once(
    ledger: Ledger,
    scope: str,
    key: str,
    digest: str,
    *,
    attempt: Callable[[], Awaitable[Record]],
    recover: Callable[[str], Awaitable[Record | None]],
    unsure: Callable[[BaseException], bool],
    settle: float = SETTLE_MIN,
    poll: float = 0.05,
    wait: float = WAIT,
) -> tuple[Record, How]:
    """`attempt()` at most once per (scope, key); returns its result and how it was obtained.

    `recover(since)` finds what an unsure earlier attempt (started at RFC3339 `since`) made, or None.
    `unsure(exc)` says whether a failed attempt may have been applied anyway; such an attempt may
    still land for `settle` seconds after it ended (see settle_window).
    Raises KeyReused, StillRunning, NotSettled, or SharedStateUnavailable (nothing was sent then).
    """
    name = f"{scope}:{key}"
    since = format_rfc3339(utcnow().replace(microsecond=0) - timedelta(seconds=5))
    mine: Record = {"fp": digest, "state": "pending", "since": since, "lease": time.time() + LEASE}
    deadline = time.monotonic() + wait
    while True:
        current = await ledger.claim(name, mine, WINDOW)
        if current is None:
            break
        if current.get("fp") != digest:
            raise KeyReused(key)
        if current.get("state") == "done":
            return current["result"], "repeat"
        if current.get("state") == "unsure" or current.get("lease", 0) < time.time():
            # Until when the unsure attempt could still land: as recorded, or for a replica that
            # died mid-call, from the end of its lease (it was sending at most until then).
            settles = float(current.get("settles") or current.get("lease", 0) + settle)
            taken = {**mine, "since": current.get("since") or since}  # search from the earliest attempt
            if await ledger.swap(name, current, taken, WINDOW):
                mine = taken
                unsure_again = {**mine, "state": "unsure", "settles": settles}
                try:
                    found = await recover(mine["since"])
                except BaseException:  # could not look: leave it unsure for the next call, not locked
                    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                        await ledger.put(name, unsure_again, WINDOW)
                    raise
                if found is not None:
                    await ledger.put(name, {"fp": digest, "state": "done", "result": found}, WINDOW)
                    return found, "recovered"
                if time.time() < settles:  # not there yet, but it still could be: send nothing now
                    await ledger.put(name, unsure_again, WINDOW)
                    raise NotSettled(key, settles)
                break
            continue  # someone else took it over first: look again
        if time.monotonic() > deadline:
            raise StillRunning(key)
        await anyio.sleep(poll)
    try:
        result = await attempt()
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            try:
                # Cancelled mid-call (the client went away): the request may have reached Pylon.
                if not isinstance(exc, Exception) or unsure(exc):
                    # The error the caller reads may already name the instant (its `settles`): keep to it.
                    settles = getattr(exc, "settles", None) or settles_from_now(settle)
                    record = {**mine, "state": "unsure", "settles": settles}
                    await ledger.put(name, record, WINDOW)
                else:
                    await ledger.drop(name)
            except Exception:  # the store went away too: the lease expiry covers it (see _record_done)
                log.warning("could not record the outcome of %s", name)
        raise
    await _record_done(ledger, name, {"fp": digest, "state": "done", "result": result})
    return result, "new"


async def _record_done(ledger: Ledger, name: str, record: Record) -> None:
    # The create happened; if the ledger cannot be told now, the claim's lease runs out and
    # the next call with this key recovers the issue by search instead of creating another.
    try:
        await ledger.put(name, record, WINDOW)
    except Exception:  # the store went away between claim and now
        log.warning("could not record %s as done", name)
