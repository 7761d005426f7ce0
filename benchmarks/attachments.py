"""14. Attachments: other clients' latency while a 6000x4000 PNG and a 200-page PDF are read; bytes returned.

Issue 23: get_attachment decodes and downscales images (Pillow) and extracts PDF text (pypdf,
pure Python) in a low-priority worker process (pylon_mcp/offload.py), so a large file costs other clients of an
HTTP server at most a bounded moment. Benchmark 10's method (benchmarks/hostile_body.py):
`python -m pylon_mcp --transport http` against a sandbox (own processes, pinned apart on 2 cores);
N "other" clients call get_issue on ordinary issues back to back. Ours: their p99 while one
more client reads the two attachments one after another (each read downloads, decodes and
converts again: nothing is cached); baseline: the same clients, same server, no reader.
Slices alternate, so background load hits both alike.

Second row: the bytes of the tool result for the 6000x4000 screenshot (the JSON-RPC response,
image base64 included) against the original file's bytes.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import httpx2

from benchmarks.common import (
    OURS_ARGV,
    Config,
    Outcome,
    Row,
    auth_headers,
    ratio,
    sandbox_proc,
    sched_cpus,
    server_env,
    side_summary,
)
from benchmarks.hostile_body import failed, others_calling_get_issue
from benchmarks.http_throughput import HEADERS, start_server

GOAL = 1.5  # others' p99 with a reader ≤ 1.5× their p99 without one
FILES = ("wide-6000x4000.png", "manual-200-pages.pdf")
IMAGE_CAP = 1_000_000


def call(name: str, arguments: dict[str, Any], request_id: int) -> bytes:
    params = {"name": name, "arguments": arguments}
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}).encode()


async def phase(url: str, clients: int, seconds: float, issue: str | None) -> dict[str, Any]:
    """Others' latencies for `seconds`; with `issue`, one more client reads its attachments meanwhile."""
    limits = httpx2.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    reads: list[float] = []
    errors = 0
    async with httpx2.AsyncClient(limits=limits, timeout=300, trust_env=False) as http:
        deadline = time.perf_counter() + seconds

        async def reader() -> None:
            nonlocal errors
            n = 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                body = call("get_attachment", {"issue_id": issue, "url": str(1 + n % len(FILES))}, 10_000 + n)
                response = await http.post(url, content=body, headers=HEADERS)
                reads.append(time.perf_counter() - started)
                errors += failed(response)
                n += 1

        (latencies, failures), *_ = await asyncio.gather(
            others_calling_get_issue(http, url, clients, deadline), *([reader()] if issue else [])
        )
        errors += failures
    return {"latencies": latencies, "reads": reads, "errors": errors}


def create_attachment_issue(upstream: str) -> str:
    response = httpx2.post(
        f"{upstream}/issues",
        json={
            "title": "attachments for benchmark 14",
            "body_html": "<p>Screenshot and manual attached.</p>",
            "requester_email": "bench@attachments.example",
            "attachment_urls": [f"{upstream}/_files/{name}" for name in FILES],
        },
        headers=auth_headers(),
        timeout=60,
    )
    response.raise_for_status()
    return str(response.json()["data"]["number"])


async def screenshot_bytes(url: str, upstream: str, issue: str) -> dict[str, Any]:
    async with httpx2.AsyncClient(timeout=120, trust_env=False) as http:
        original = len((await http.get(f"{upstream}/_files/{FILES[0]}")).content)
        response = await http.post(
            url, content=call("get_attachment", {"issue_id": issue, "url": "1"}, 1), headers=HEADERS
        )
    result = json.loads(response.content)["result"]
    image = next(block for block in result["content"] if block["type"] == "image")
    shown = result["structuredContent"]
    return {
        "original_bytes": original,
        "response_bytes": len(response.content),
        "image_bytes": shown["shown_bytes"],
        "shown": f"{shown['shown_width']}x{shown['shown_height']}",
        "mime": image["mimeType"],
    }


async def run(cfg: Config) -> Outcome:
    clients = cfg.pick(5, 2)
    seconds = cfg.pick(4.0, 1.5)
    slices = cfg.pick(3, 1)
    mine = os.sched_getaffinity(0)
    two = len(mine) >= 2
    server_cpus = sched_cpus({0}) if two else None
    other_cpus = sched_cpus({1}) if two else None
    quiet: dict[str, Any] = {"latencies": [], "reads": [], "errors": 0}
    loud: dict[str, Any] = {"latencies": [], "reads": [], "errors": 0}
    server = None
    try:
        with sandbox_proc(issues=300, cpus=other_cpus, name="attachments-sandbox") as (upstream, _):
            issue = create_attachment_issue(upstream)
            server, url = start_server("attachments-ours", OURS_ARGV, server_env(upstream), server_cpus)
            if other_cpus:
                os.sched_setaffinity(0, other_cpus)
            sizes = await screenshot_bytes(url, upstream, issue)  # also warms the sandbox's file cache
            await phase(url, clients, min(1.0, seconds), issue)  # warm-up: imports, the PDF generated
            for _ in range(slices):  # alternate: quiet, then with a reader
                for target, reading in ((quiet, None), (loud, issue)):
                    got = await phase(url, clients, seconds, reading)
                    for key in ("latencies", "reads"):
                        target[key] += got[key]
                    target["errors"] += got["errors"]
    finally:
        os.sched_setaffinity(0, mine)
        if server is not None:
            server.stop()

    def summary(side: dict[str, Any]) -> dict[str, Any]:
        return side_summary(side, "reads", "read_median_ms")

    o, b = summary(loud), summary(quiet)
    r = ratio(o["p99_ms"], b["p99_ms"])
    rows = [
        Row(
            f"14 attachments: others' get_issue p99, {clients} clients, while a 6000x4000 PNG and a "
            "200-page PDF are read",
            f"{o['p99_ms']:.1f} ms ({o['reads']} reads, median {o['read_median_ms']} ms)",
            f"{b['p99_ms']:.1f} ms (no reader)",
            r,
            f"≤ {GOAL}×, 0 errors",
            r is not None and r <= GOAL and o["errors"] == 0 and b["errors"] == 0 and o["reads"] > 0,
            {"ours": o, "baseline": b},
        ),
        Row(
            "14 attachments: bytes returned for a 6000x4000 PNG screenshot (tool result, base64 image)",
            f"{sizes['response_bytes']:,} B ({sizes['mime']} {sizes['shown']}, {sizes['image_bytes']:,} B)",
            f"{sizes['original_bytes']:,} B (the file)",
            ratio(sizes["response_bytes"], sizes["original_bytes"]),
            f"image ≤ {IMAGE_CAP:,} B",
            sizes["image_bytes"] <= IMAGE_CAP,
            sizes,
        ),
    ]
    notes = [
        f"attachments: with reader {o}",
        f"attachments: without reader {b}",
        f"attachments: screenshot {sizes}",
    ]
    return Outcome(rows, {"with_reader": o, "without": b, "screenshot": sizes}, notes)
