"""6. Rate limits: a burst of 50 search_issues calls while the sandbox allows 20 searches per window.

The window is 60 s (Pylon's per-minute limit; smoke: 2 s, so waits stay short). Each call
searches with its own created_after, so the sandbox's request log (GET /_sandbox/requests)
tells which upstream requests of which call got a 429. A call is:
- ok: succeeded at once;  waited: succeeded after a 429 of its own or after waiting ≥ 0.5 s
  (the server may also hold calls back itself once it has seen a 429);
- clear: failed with a retry-after error (its text contains "Retry after");
- unhandled: failed after a 429 without saying when to retry (the goal is zero);
- other: failed without any 429 (should not happen).
Baseline: the same 50 requests sent at once by a naive httpx2 client that does not retry,
i.e. how many bare 429s would reach the model without our handling.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx2

from benchmarks.common import (
    OURS_ARGV,
    TOKEN,
    Config,
    Outcome,
    Row,
    StdioPeer,
    admin,
    auth_headers,
    sandbox,
    server_env,
    text_of,
)

BURST = 50
LIMIT = 20


def marker(i: int) -> str:
    return f"2020-01-01T00:{i // 60:02d}:{i % 60:02d}Z"


async def reset(url: str, window: float) -> None:
    admin(url, "config", {"rate_limits": {"POST /issues/search": LIMIT}, "rate_window": window})
    async with httpx2.AsyncClient() as http:
        (await http.delete(f"{url}/_sandbox/requests", headers=auth_headers())).raise_for_status()


async def naive(url: str) -> Counter[int]:
    async with httpx2.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        bodies = [{"filter": {"field": "created_at", "operator": "time_is_after", "value": marker(i)}, "limit": 20}
                  for i in range(BURST)]  # fmt: skip
        responses = await asyncio.gather(*(http.post("/issues/search", json=body) for body in bodies))
    return Counter(response.status_code for response in responses)


def classify(result: dict[str, Any], hits: int, seconds: float) -> str:
    if not result.get("isError"):
        return "waited" if hits or seconds >= 0.5 else "ok"
    if "Retry after" in text_of(result):
        return "clear"
    return "unhandled" if hits else "other"


async def run(cfg: Config) -> Outcome:
    window = cfg.pick(60.0, 2.0)
    with sandbox(issues=300, name="rate-sandbox") as url:
        await reset(url, window)
        bare = await naive(url)
        await reset(url, window)
        async with StdioPeer(OURS_ARGV, server_env(url), "rate-ours") as ours:

            async def call(i: int) -> tuple[dict[str, Any], float]:
                began = time.perf_counter()
                result = await ours.call("search_issues", {"created_after": marker(i)})
                return result, time.perf_counter() - began

            started = time.perf_counter()
            timed = await asyncio.gather(*(call(i) for i in range(BURST)))
            took = time.perf_counter() - started
        results = [result for result, _ in timed]
        log = [e for e in admin(url, "requests") if e["endpoint"] == "POST /issues/search"]
    hits = Counter(
        i for e in log if e["status"] == 429 for i in range(BURST) if marker(i) in json.dumps(e["body"])
    )
    matched = sum(1 for e in log for i in range(BURST) if marker(i) in json.dumps(e["body"]))
    if matched != len(log):
        raise RuntimeError(f"{len(log) - matched} upstream searches could not be matched to a call")
    kinds = Counter(classify(result, hits[i], seconds) for i, (result, seconds) in enumerate(timed))
    counts = {kind: kinds.get(kind, 0) for kind in ("ok", "waited", "clear", "unhandled", "other")}
    bad = counts["unhandled"] + counts["other"]
    example = next((text_of(r) for r in results if r.get("isError")), "")
    row = Row(
        f"6 rate limit: {BURST} searches, {LIMIT}/{window:g}s (unhandled 429s)",
        f"{bad} ({counts['ok']} ok, {counts['waited']} waited, {counts['clear']} clear)",
        f"{bare.get(429, 0)} bare 429s (naive)",
        round(bad / bare[429], 3) if bare.get(429) else None,
        "0 unhandled",
        bad == 0,
        counts,
    )
    details = {
        "window_s": window,
        "burst_s": round(took, 2),
        "calls": counts,
        "upstream_searches": len(log),
        "upstream_429s": sum(hits.values()),
        "naive_statuses": dict(bare),
        "example_error": example[:300],
    }
    notes = [f"rate limits: {details}"]
    return Outcome([row], details, notes)
