"""5. Scale: page through every match of a search over a large sandbox, following cursors.

The sandbox (100k issues; smoke: 2k) runs in its own process. Each pager runs in a fresh
subprocess of its own, so its peak RSS (ru_maxrss) is its own:
- ours: PylonClient.iter_search_pages (request, envelope, pydantic Issue models per page);
- baseline: the same POST /issues/search pages with bare httpx2 + JSON decoding.
Time per page is the time between pages as the pager sees them. Flat (total grows linearly
with the page count) means the median of the last 10% of pages is within 1.5x of the first 10%.

    python -m benchmarks.scale --worker ours|raw --url URL   # one pager, prints JSON
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    PYTHON,
    SRC,
    TOKEN,
    Config,
    Outcome,
    Row,
    base_env,
    median,
    ms,
    ratio,
    sandbox,
)

FILTER = {"field": "state", "operator": "in", "values": ["new", "waiting_on_you", "waiting_on_customer"]}
LIMIT = 100
RSS_GOAL_MB = 150
FLAT = 1.5


async def page_ours(url: str) -> tuple[list[float], int]:
    from pylon_mcp.pylon.client import PylonClient

    gaps, count = [], 0
    async with PylonClient(TOKEN, base_url=url, timeout=60) as client:
        last = time.perf_counter()
        async for page in client.iter_search_pages(FILTER, limit=LIMIT, max_pages=10**6):
            now = time.perf_counter()
            gaps.append(now - last)
            last, count = now, count + len(page.issues)
    return gaps, count


async def page_raw(url: str) -> tuple[list[float], int]:
    import httpx2

    gaps, count, cursor = [], 0, None
    async with httpx2.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    ) as http:
        last = time.perf_counter()
        while True:
            body: dict[str, Any] = {"filter": FILTER, "limit": LIMIT} | ({"cursor": cursor} if cursor else {})
            response = await http.post("/issues/search", json=body)
            response.raise_for_status()
            envelope = response.json()
            now = time.perf_counter()
            gaps.append(now - last)
            last, count = now, count + len(envelope["data"])
            pagination = envelope.get("pagination") or {}
            cursor = pagination.get("cursor")
            if not (pagination.get("has_next_page") and cursor):
                return gaps, count


def peak_rss_mb() -> float:
    """VmHWM: this process's peak RSS. (ru_maxrss would count the parent's size at fork, kept across exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(kind: str, url: str) -> None:
    started = time.perf_counter()
    gaps, count = asyncio.run(page_ours(url) if kind == "ours" else page_raw(url))
    tenth = max(1, len(gaps) // 10)
    print(json.dumps({
        "pages": len(gaps),
        "issues": count,
        "total_s": round(time.perf_counter() - started, 2),
        "first_ms": ms(gaps[0]),
        "median_ms": ms(median(gaps)),
        "last_ms": ms(gaps[-1]),
        "first_tenth_median_ms": ms(median(gaps[1 : tenth + 1] or gaps)),
        "last_tenth_median_ms": ms(median(gaps[-tenth:])),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }))  # fmt: skip


def pager(kind: str, url: str) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, "-m", "benchmarks.scale", "--worker", kind, "--url", url], env=base_env(), cwd=SRC,
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{kind} pager failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def run(cfg: Config) -> Outcome:
    issues = cfg.pick(100_000, 2_000)
    started = time.perf_counter()
    with sandbox(issues=issues, name="scale-sandbox") as url:
        seeded = time.perf_counter() - started
        raw = pager("raw", url)
        ours = pager("ours", url)
    if ours["issues"] != raw["issues"]:
        raise RuntimeError(f"pagers disagree: ours saw {ours['issues']} issues, raw {raw['issues']}")
    growth = ours["last_tenth_median_ms"] / ours["first_tenth_median_ms"]
    rows = [
        Row(
            f"5 scale: {ours['issues']} of {issues // 1000}k in {ours['pages']} pages (ms/page median)",
            f"{ours['median_ms']:.1f} ms",
            f"{raw['median_ms']:.1f} ms (raw)",
            ratio(ours["median_ms"], raw["median_ms"]),
            f"flat: last/first ≤ {FLAT} (is {growth:.2f})",
            growth <= FLAT,
            {"ours": ours, "baseline": raw},
        ),
        Row(
            "5 scale: peak RSS of the pager",
            f"{ours['peak_rss_mb']:.0f} MB",
            f"{raw['peak_rss_mb']:.0f} MB (raw)",
            ratio(ours["peak_rss_mb"], raw["peak_rss_mb"]),
            f"< {RSS_GOAL_MB} MB",
            ours["peak_rss_mb"] < RSS_GOAL_MB,
        ),
    ]
    notes = [
        f"scale: sandbox with {issues} issues up in {seeded:.1f} s; ours {ours}",
        f"scale: raw {raw}",
    ]
    return Outcome(rows, {"issues": issues, "seed_s": round(seeded, 1), "ours": ours, "raw": raw}, notes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", choices=("ours", "raw"), required=True)
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    worker(args.worker, args.url)
    sys.exit(0)
