"""The results of a run as the Markdown table docs/benchmarks.md shows: `python -m benchmarks.markdown [FILE]`.

Reads `benchmarks/results/latest.json` (or FILE), written by `benchmarks/run`, so the published
table is the run's own output rather than numbers copied by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.main import RESULTS


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(report: dict[str, Any]) -> str:
    lines = ["| benchmark | ours | baseline | ratio | goal | met? |", "| --- | --- | --- | --- | --- | --- |"]
    for bench in report["benchmarks"].values():
        for row in bench["rows"]:
            ratio = "—" if row["ratio"] is None else f"{row['ratio']:.2f}×"
            met = "—" if row["met"] is None else ("yes" if row["met"] else "NO")
            cells = (row["name"], row["ours"], row["baseline"], ratio, row["goal"], met)
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def heading(report: dict[str, Any]) -> str:
    machine = report["machine"]
    return (
        f"One {report['mode']} run of `benchmarks/run`{' on ' + report['date'] if 'date' in report else ''} "
        f"({report['seconds']:.0f} s; {machine['cpu']}, "
        f"{machine['cores']} cores shared by the server, the sandbox and the load generator; Python "
        f"{machine['python']}; load average {machine['load_average'][0]} at the start)."
    )


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else RESULTS / "latest.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    print(heading(report))
    print()
    print(table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
