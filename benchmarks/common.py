"""Shared helpers: machine facts, statistics, rows, subprocesses (sandbox, servers) and a lean stdio client."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx2

ROOT = Path(__file__).resolve().parent.parent
# PYLON_BENCH_SRC=/path/to/a/copy measures that copy's pylon_mcp (a prototype fix) instead of ROOT's.
SRC = Path(os.environ.get("PYLON_BENCH_SRC") or ROOT).resolve()
PYTHON = sys.executable
TOKEN = "bench-token"
LOG_DIR = Path(tempfile.gettempdir()) / "pylon-mcp-bench-logs"
PROTOCOL = "2025-11-25"


@dataclass(frozen=True)
class Config:
    smoke: bool

    def pick(self, full: Any, smoke: Any) -> Any:
        return smoke if self.smoke else full


@dataclass
class Row:
    """One line of the final table."""

    name: str
    ours: str
    baseline: str
    ratio: float | None
    goal: str
    met: bool | None
    values: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Outcome:
    rows: list[Row]
    details: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],  # others' work shares these cores
    }


# --- statistics -------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def ratio(ours: float, baseline: float) -> float | None:
    return round(ours / baseline, 3) if baseline else None


# --- processes --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_file(name: str) -> TextIO:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return (LOG_DIR / f"{name}.log").open("w")


def server_env(url: str = "http://127.0.0.1:9", token: str = TOKEN) -> dict[str, str]:
    """Env for pylon-mcp and the baseline: both point at the same upstream."""
    return base_env(
        PYLON_API_TOKEN=token,
        PYLON_API_URL=url,
        BASELINE_UPSTREAM_URL=url,
        BASELINE_UPSTREAM_TOKEN=token,
    )


def base_env(**extra: str) -> dict[str, str]:
    """A small, explicit environment: no inherited PYLON_* settings, no proxies; SRC, then ROOT, on the path."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(SRC), str(ROOT)]))
    env.update(extra)
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc; clock-tick resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


OURS_ARGV = [PYTHON, "-m", "pylon_mcp"]
BASELINE_ARGV = [PYTHON, str(ROOT / "benchmarks" / "baseline_server.py")]


class Proc:
    """A background subprocess with an optional CPU affinity, stopped by its own pid."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cpus: set[int] | None = None) -> None:
        self.name = name
        self.log = log_file(name)
        preexec = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.popen = subprocess.Popen(
            argv, env=env, cwd=SRC, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            preexec_fn=preexec,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far (from /proc)."""
        return cpu_seconds(self.pid)

    def check(self) -> None:
        if self.popen.poll() is not None:
            self.log.flush()
            tail = Path(self.log.name).read_text()[-2000:]
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{tail}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self.log.close()


def wait_until(proc: Proc, url: str, headers: dict[str, str] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        proc.check()
        with contextlib.suppress(httpx2.HTTPError):
            if httpx2.get(url, headers=headers, timeout=2).status_code < 500:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} did not answer {url} within {timeout}s")
        time.sleep(0.05)


@contextlib.contextmanager
def sandbox(issues: int = 300, cpus: set[int] | None = None, name: str = "sandbox") -> Iterator[str]:
    """`pylon-mcp sandbox` in its own process; yields its base URL."""
    with sandbox_proc(issues, cpus, name) as (url, _):
        yield url


@contextlib.contextmanager
def sandbox_proc(
    issues: int = 300, cpus: set[int] | None = None, name: str = "sandbox"
) -> Iterator[tuple[str, Proc]]:
    port = free_port()
    argv = [*OURS_ARGV, "sandbox", "--port", str(port), "--token", TOKEN, "--issues", str(issues)]
    proc = Proc(name, argv, base_env(), cpus)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(proc, f"{url}/_sandbox/health", auth_headers(), timeout=120)
        yield url, proc
    finally:
        proc.stop()


def auth_headers(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def admin(url: str, action: str, body: dict[str, Any] | None = None) -> Any:
    """Call the sandbox's /_sandbox/ admin API (POST with a body, GET without)."""
    if body is None:
        response = httpx2.get(f"{url}/_sandbox/{action}", headers=auth_headers(), timeout=30)
    else:
        response = httpx2.post(f"{url}/_sandbox/{action}", json=body, headers=auth_headers(), timeout=30)
    response.raise_for_status()
    return response.json()["data"]


def sched_cpus(cpus: set[int]) -> set[int]:
    """Keep only CPUs this process may run on (fall back to all of them)."""
    allowed = os.sched_getaffinity(0)
    return (cpus & allowed) or allowed


# --- a lean JSON-RPC client over stdio --------------------------------------------


class StdioPeer:
    """Newline-delimited JSON-RPC to a server subprocess, with concurrent requests.

    Leaner than mcp.Client (no result models, no output-schema validation), so client
    CPU stays out of what is measured; the same client drives ours and the baseline.
    """

    def __init__(self, argv: list[str], env: dict[str, str], name: str, cwd: Path | None = None) -> None:
        self.argv, self.env, self.name = argv, env, name
        self.cwd = cwd or SRC  # `python -m` imports from the working directory first
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._log = log_file(self.name)
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            env=self.env, cwd=self.cwd, limit=1 << 24,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            message = json.loads(line)
            future = self._pending.pop(message.get("id"), None) if "method" not in message else None
            if future is not None and not future.done():
                future.set_result(message)
        error = RuntimeError(f"{self.name} closed stdout (see {self._log.name})")
        for future in self._pending.values():
            future.set_exception(error)

    async def _send(self, message: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        await self.proc.stdin.drain()

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON-RPC `result`; raises on a JSON-RPC error."""
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})
        message = await future
        if "error" in message:
            raise RuntimeError(f"{self.name}: {method} failed: {message['error']}")
        result: dict[str, Any] = message["result"]
        return result

    async def initialize(self) -> dict[str, Any]:
        result = await self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        )
        await self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return await self.request("tools/call", {"name": tool, "arguments": arguments})

    async def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)
        self._log.close()

    async def __aenter__(self) -> StdioPeer:
        await self.start()
        await self.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def text_of(result: dict[str, Any]) -> str:
    """What a model reads: the text blocks of a tool result."""
    return "\n".join(block["text"] for block in result.get("content", []) if block.get("type") == "text")


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def side_summary(side: dict[str, Any], heavy: str, median_key: str) -> dict[str, Any]:
    """One side of an alternating-slices run (benchmarks 10, 14, 15): the other clients' latencies and
    errors, and how many heavy calls (`side[heavy]`, their durations) ran meanwhile, with their median."""
    return {
        "calls": len(side["latencies"]),
        "errors": side["errors"],
        "p50_ms": ms(percentile(side["latencies"], 50)),
        "p99_ms": ms(percentile(side["latencies"], 99)),
        "max_ms": ms(max(side["latencies"], default=0.0)),
        heavy: len(side[heavy]),
        median_key: ms(percentile(side[heavy], 50)) if side[heavy] else None,
    }
