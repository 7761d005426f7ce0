"""7. Soak: 10k tool calls over stdio, sampling the server's RSS, which should stay flat.

A mix a real session produces: get_issue (issues cycle, some with followers or raw HTML),
search_issues with cursors, and calls that fail (unknown issue, bad filter, bad argument).
RSS is read from /proc/<pid>/status (VmRSS) after a warm-up and then every tenth of the run.
Baseline: the same server's RSS after the warm-up; the ratio is end / warm-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.common import OURS_ARGV, Config, Outcome, Row, StdioPeer, ratio, sandbox, server_env

GOAL_GROWTH = 1.10  # at most 10% above the warmed-up size


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def call_for(n: int, cursor: str | None) -> tuple[str, dict[str, Any]]:
    kind = n % 10
    if kind < 5:
        return "get_issue", {"issue_id": str(1 + n % 300)}
    if kind == 5:
        return "get_issue", {"issue_id": str(1 + n % 300), "include": ["followers", "raw_html"]}
    if kind == 6:
        args: dict[str, Any] = {"state": ["new", "waiting_on_you", "closed"], "limit": 20}
        return "search_issues", {**args, "cursor": cursor} if cursor else args
    if kind == 7:
        return "get_issue", {"issue_id": "999999"}  # upstream 404
    if kind == 8:
        return "search_issues", {"filter": {"field": "created_at", "operator": "gte", "value": "x"}}
    return "update_issue", {"issue_id": "7", "priority": "high"}  # refused locally


async def run(cfg: Config) -> Outcome:
    calls = cfg.pick(10_000, 300)
    warmup = cfg.pick(500, 50)
    samples: list[tuple[int, float]] = []
    errors = 0
    with sandbox(issues=300, name="soak-sandbox") as url:
        async with StdioPeer(OURS_ARGV, server_env(url), "soak-ours") as peer:
            assert peer.proc is not None
            cursor: str | None = None
            for n in range(warmup + calls):
                tool, arguments = call_for(n, cursor)
                result = await peer.call(tool, arguments)
                errors += bool(result.get("isError"))
                if tool == "search_issues" and not result.get("isError"):
                    cursor = (result.get("structuredContent") or {}).get("next_cursor")
                done = n + 1 - warmup
                if done == 0 or (done > 0 and done % (calls // 10) == 0):
                    samples.append((done, rss_mb(peer.proc.pid)))
    start, end = samples[0][1], samples[-1][1]
    peak = max(mb for _, mb in samples)
    growth = ratio(end, start)
    return Outcome(
        rows=[
            Row(
                f"7 soak: RSS over {calls} calls (start→end, peak)",
                f"{start:.1f}→{end:.1f} MB (peak {peak:.1f})",
                f"{start:.1f} MB after {warmup} warm-up",
                growth,
                f"flat: end ≤ {GOAL_GROWTH:.2f}× start",
                growth is not None and growth <= GOAL_GROWTH,
                {"samples": samples, "error_results": errors},
            )
        ],
        details={"calls": calls, "warmup": warmup, "samples_mb": samples, "error_results": errors},
        notes=[f"soak RSS samples (calls, MB): {', '.join(f'{c}:{mb:.1f}' for c, mb in samples)}"],
    )
