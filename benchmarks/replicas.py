"""8. Replicas: two HTTP replicas sharing a Redis against one replica with in-process state.

- Throughput: N clients calling get_issue over Streamable HTTP for a fixed time, spread
  round-robin over two replicas with PYLON_MCP_REDIS_URL, against the same clients on one
  replica with the default in-process state. Every call passes the shared rate gate (a Lua
  script in Redis, or a dict in the process), so the ratio shows what sharing costs and what
  a second process buys on this machine. Interleaved 2 s slices, as in benchmark 4.
- Write latency: sequential create_issue calls with a fresh idempotency_key each, on one
  replica with the Redis ledger and one with the in-process ledger; the difference of the
  medians is what the Redis ledger adds per write (a claim, a final record, and the gate).

Everything shares the 2 cores: sandbox, replicas, Redis and the load generator. Skipped with a
note when redis-server is not installed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any

from benchmarks.common import (
    OURS_ARGV,
    Config,
    Outcome,
    Proc,
    Row,
    free_port,
    median,
    ms,
    ratio,
    sandbox_proc,
    server_env,
)
from benchmarks.http_throughput import HEADERS, Target, bodies, drive_interleaved, start_server


class Redis:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server")
        self.port = free_port()
        directory = tempfile.mkdtemp(prefix="pylon-bench-redis-")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", directory]
        self.popen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.popen.terminate()
        self.popen.wait(10)


class Spread(Target):
    """A Target whose clients are spread round-robin over several replicas' URLs."""

    def __init__(self, name: str, procs: list[Proc], urls: list[str], payloads: list[bytes]) -> None:
        super().__init__(name, procs[0], urls[0], payloads)
        self.procs = procs
        self.urls = urls

    async def drive(self, clients: int, seconds: float, sandbox: Proc, record: bool = True) -> None:
        import asyncio

        import httpx2

        limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx2.AsyncClient(limits=limits, timeout=60, trust_env=False) as http:

            async def client(i: int, deadline: float) -> None:
                url = self.urls[i % len(self.urls)]
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    response = await http.post(
                        url, content=self.payloads[i % len(self.payloads)], headers=HEADERS
                    )
                    elapsed = time.perf_counter() - started
                    i += clients
                    if response.status_code != 200 or b'"isError":false' not in response.content:
                        self.errors += record
                    elif record:
                        self.latencies.append(elapsed)

            started = time.perf_counter()
            await asyncio.gather(*(client(n, started + seconds) for n in range(clients)))
            if record:
                self.seconds += time.perf_counter() - started


async def create_latencies(urls: dict[str, str], count: int) -> dict[str, list[float]]:
    """`count` keyed creates per target, alternating call by call so background load hits both alike."""
    import httpx2

    out: dict[str, list[float]] = {name: [] for name in urls}
    async with httpx2.AsyncClient(timeout=60, trust_env=False) as http:
        for n in range(count):
            for name, url in urls.items():
                arguments = {"title": f"Bench {name} {n}", "body_markdown": "Benchmark write.",
                             "requester_email": "b@example.com", "idempotency_key": f"{name}-{n}"}  # fmt: skip
                body = {"jsonrpc": "2.0", "id": n, "method": "tools/call",
                        "params": {"name": "create_issue", "arguments": arguments}}  # fmt: skip
                started = time.perf_counter()
                response = await http.post(url, json=body, headers=HEADERS)
                elapsed = time.perf_counter() - started
                if response.status_code != 200 or b'"isError":false' not in response.content:
                    raise RuntimeError(f"create failed: {response.text[:300]}")
                out[name].append(elapsed)
    return out


async def run(cfg: Config) -> Outcome:
    try:
        redis = Redis()
    except FileNotFoundError:
        row = Row("8 replicas", "skipped", "", None, "report", None)
        return Outcome(
            [row], {"skipped": "redis-server not installed"}, ["replicas: redis-server not installed"]
        )
    seconds = cfg.pick(10.0, 1.0)
    slices = cfg.pick(5, 1)
    levels = cfg.pick([10, 50], [5])
    writes = cfg.pick(100, 10)
    procs: list[Proc] = []
    results: dict[str, Any] = {}
    try:
        with sandbox_proc(issues=300, name="replicas-sandbox") as (upstream, sandbox):
            env = server_env(upstream)
            shared = {**env, "PYLON_MCP_REDIS_URL": redis.url}
            one, one_url = start_server("replica-local", OURS_ARGV, env, None)
            a, a_url = start_server("replica-redis-a", OURS_ARGV, shared, None)
            b, b_url = start_server("replica-redis-b", OURS_ARGV, shared, None)
            procs += [one, a, b]
            for clients in levels:
                targets = [
                    Spread("two_redis", [a, b], [a_url, b_url], bodies("get_issue", "issue_id")),
                    Spread("one_local", [one], [one_url], bodies("get_issue", "issue_id")),
                ]
                await drive_interleaved(targets, clients, seconds, slices, sandbox)
                for target in targets:
                    results[f"{target.name}_{clients}"] = {
                        "calls_per_s": round(len(target.latencies) / target.seconds, 1),
                        "errors": target.errors,
                    }
            latency = await create_latencies({"redis": a_url, "local": one_url}, writes)
            results["write_ms"] = {name: ms(median(values)) for name, values in latency.items()}
    finally:
        for proc in procs:
            proc.stop()
        redis.stop()
    rows = []
    for clients in levels:
        two, one = results[f"two_redis_{clients}"], results[f"one_local_{clients}"]
        rows.append(Row(
            f"8 replicas: get_issue calls/s, {clients} clients",
            f"{two['calls_per_s']:.0f}/s (2 replicas + Redis)",
            f"{one['calls_per_s']:.0f}/s (1 replica, in-process)",
            ratio(two["calls_per_s"], one["calls_per_s"]),
            "report, 0 errors",
            two["errors"] == 0 and one["errors"] == 0,
            {"two": two, "one": one},
        ))  # fmt: skip
    write = results["write_ms"]
    rows.append(Row(
        "8 replicas: create_issue with idempotency_key, median",
        f"{write['redis']:.2f} ms (Redis ledger)",
        f"{write['local']:.2f} ms (in-process)",
        ratio(write["redis"], write["local"]),
        f"report: adds {write['redis'] - write['local']:.2f} ms",
        None,
        write,
    ))  # fmt: skip
    notes = [
        "replicas: no CPU pinning; sandbox, replicas, Redis and the load generator share every core",
        *(f"replicas {key}: {value}" for key, value in results.items()),
    ]
    return Outcome(rows, results, notes)
