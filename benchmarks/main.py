"""Run the benchmarks, print one table (ours | baseline | ratio | goal | met?) and write results/latest.json.

.venv/bin/python benchmarks/run            # full sizes, a few minutes on 2 cores
.venv/bin/python benchmarks/run --smoke    # tiny sizes, for CI
.venv/bin/python -m benchmarks --only 1,3  # the same, as a module, some benchmarks only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import (
    attachments,
    auth_overhead,
    call_overhead,
    cold_start,
    customer_cards,
    definitions,
    hostile_body,
    hostile_writes,
    http_throughput,
    knowledge,
    output_size,
    rate_limits,
    replicas,
    scale,
    soak,
)
from benchmarks.common import LOG_DIR, Config, Outcome, Row, machine

BENCHMARKS: dict[str, tuple[str, Callable[[Config], Awaitable[Outcome]]]] = {
    "1": ("cold_start", cold_start.run),
    "2": ("call_overhead", call_overhead.run),
    "3": ("output_size", output_size.run),
    "4": ("http_throughput", http_throughput.run),
    "5": ("scale", scale.run),
    "6": ("rate_limits", rate_limits.run),
    "7": ("soak", soak.run),
    "8": ("replicas", replicas.run),
    "9": ("auth_overhead", auth_overhead.run),
    "10": ("hostile_body", hostile_body.run),
    "11": ("definitions", definitions.run),
    "12": ("knowledge", knowledge.run),
    "13": ("customer_cards", customer_cards.run),
    "14": ("attachments", attachments.run),
    "15": ("hostile_writes", hostile_writes.run),
}
RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = ("benchmark", "ours", "baseline", "ratio", "goal", "met?")


def cells(row: Row) -> tuple[str, ...]:
    met = "—" if row.met is None else ("yes" if row.met else "NO")
    shown = "—" if row.ratio is None else f"{row.ratio:.2f}×"
    return (row.name, row.ours, row.baseline, shown, row.goal, met)


def table(rows: Sequence[Row]) -> str:
    lines = [COLUMNS, *(cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    out = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/run", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI): all of them in about a minute")
    parser.add_argument("--only", default="", help="comma-separated benchmark numbers, e.g. 1,4")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json", help="where to write JSON")
    args = parser.parse_args(argv)
    cfg = Config(smoke=args.smoke)
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, {info['platform']}, "
        f"load average {info['load_average'][0]}"
    )
    print(f"mode: {'smoke' if cfg.smoke else 'full'}; subprocess logs in {LOG_DIR}", flush=True)
    rows: list[Row] = []
    report: dict[str, Any] = {"machine": info, "mode": "smoke" if cfg.smoke else "full", "benchmarks": {},
                              "date": time.strftime("%Y-%m-%d", time.gmtime())}  # fmt: skip
    failed = False
    started = time.monotonic()
    for number in chosen:
        name, bench = BENCHMARKS[number]
        began = time.monotonic()
        try:
            outcome = asyncio.run(bench(cfg))
        except Exception as exc:
            failed = True
            traceback.print_exc()
            outcome = Outcome([Row(f"{number} {name}", "ERROR", "", None, "", False)], {"error": repr(exc)})
        took = time.monotonic() - began
        for note in outcome.notes:
            print(f"  {note}")
        print(f"[{number} {name}: {took:.1f} s]", flush=True)
        rows += outcome.rows
        report["benchmarks"][name] = {
            "seconds": round(took, 1),
            "rows": [row.to_json() for row in outcome.rows],
            "details": outcome.details,
        }
    report["seconds"] = round(time.monotonic() - started, 1)
    print()
    print(table(rows))
    print(f"\ntotal {report['seconds']} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 1 if failed else 0
