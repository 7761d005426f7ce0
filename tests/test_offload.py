"""CPU-heavy jobs run in a low-priority worker process (pylon_mcp/offload.py), bounded in time.

The worker pool is shared by the tests of one test process (created on the first job), as in the server.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

import pytest

from pylon_mcp import offload
from pylon_mcp.sandbox import Sandbox
from tests import offload_jobs
from tests.conftest import TOKEN
from tests.mcp_helpers import text

pytestmark = pytest.mark.anyio


async def test_a_job_runs_in_another_process_at_a_lower_priority() -> None:
    pid, priority = await offload.run(offload_jobs.pid_and_priority)
    assert pid != os.getpid()
    if hasattr(os, "nice"):
        assert priority >= os.nice(0) + offload.NICE or priority == 19  # capped by the OS


async def test_the_worker_never_writes_to_the_servers_stdout() -> None:
    # In stdio mode fd 1 is the JSON-RPC channel: the worker's own fd 1 and sys.stdout go nowhere.
    assert await offload.run(offload_jobs.stdout_is_devnull)


async def test_a_jobs_exception_reaches_the_caller() -> None:
    with pytest.raises(ValueError, match="no such thing"):
        await offload.run(offload_jobs.refuse, "no such thing")


async def test_a_job_over_the_time_limit_is_stopped_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = await offload.run(os.getpid)
    with pytest.raises(offload.JobTimedOut, match=r"over 0\.5 s"):
        await offload.run(offload_jobs.spin, 60, time_limit=0.5)
    assert "spin ran over 0.5 s" in caplog.text
    assert await _gone(first)  # the pool's workers were stopped, the overrunning one with them
    assert await offload.run(os.getpid) not in (first, os.getpid())


async def test_a_job_sharing_the_pool_with_an_overrunning_one_is_run_again() -> None:
    import anyio

    results: list[int] = []

    async def patient() -> None:
        results.append(await offload.run(offload_jobs.napping, 1.0))

    async with anyio.create_task_group() as tg:
        tg.start_soon(patient)
        await _sleep(0.2)
        with pytest.raises(offload.JobTimedOut):
            await offload.run(offload_jobs.spin, 60, time_limit=0.3)
    assert len(results) == 1 and results[0] != os.getpid()


async def test_a_job_whose_caller_went_away_is_still_stopped_at_its_time_limit() -> None:
    import anyio

    worker = await offload.run(os.getpid)  # a started pool, so the job runs at once
    with anyio.move_on_after(0.2):  # a cancelled request
        await offload.run(offload_jobs.spin, 60, time_limit=0.5)
    assert await _gone(worker)
    assert await offload.run(os.getpid) != os.getpid()


async def test_without_processes_jobs_run_in_a_thread_and_say_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refused() -> None:
        raise PermissionError("process creation is not allowed here")

    monkeypatch.setattr(offload, "_new_pool", refused)
    monkeypatch.setattr(offload, "_pool", None)
    monkeypatch.setattr(offload, "_fallback", False)
    caplog.set_level(logging.WARNING, "pylon_mcp.offload")
    loop_thread = threading.get_ident()
    assert await offload.run(os.getpid) == os.getpid()
    assert await offload.run(threading.get_ident) != loop_thread
    warnings = [r.getMessage() for r in caplog.records if r.name == "pylon_mcp.offload"]
    assert len(warnings) == 1 and "not allowed here" in warnings[0] and "threads" in warnings[0]


def test_starting_the_server_creates_no_worker_pool() -> None:
    # Start-up time is a product metric: the pool (and its module) come with the first heavy job.
    code = (
        "import sys; from pylon_mcp.cli import build_parser, load_settings; "
        "from pylon_mcp.server import build_server; from pylon_mcp import offload; "
        "build_server(load_settings(build_parser().parse_args([]), {'PYLON_API_TOKEN': 't'})); "
        "print('concurrent.futures.process' in sys.modules, offload._pool)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "None"]


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


async def _gone(pid: int) -> bool:
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        await _sleep(0.05)
    return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == pid:
                found.append(int(entry))
    return found


def _cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode()


@pytest.mark.slow  # a server subprocess
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc")
async def test_a_heavy_body_over_stdio_converts_in_a_worker_that_cannot_write_to_the_channel(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    from mcp import Client, StdioServerParameters

    large = "<style>p { color: #111 }</style>" + "<div><p>a long customer body</p></div>" * 800
    sandbox.store.find("144").body_html = large
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYLON_")}
    env.update(PYLON_API_TOKEN=TOKEN, PYLON_API_URL=sandbox_url)
    params = StdioServerParameters(command=sys.executable, args=["-m", "pylon_mcp"], env=env)
    async with Client(params, cache=None) as client:
        (server,) = [p for p in _children(os.getpid()) if "pylon_mcp" in _cmdline(p)]
        assert not [p for p in _children(server) if "multiprocessing" in _cmdline(p)]  # none at start
        first = await client.call_tool("get_issue", {"issue_id": "144"})
        again = await client.call_tool("get_issue", {"issue_id": "7"})  # the channel still speaks JSON-RPC
        assert not first.is_error and "a long customer body" in text(first) and not again.is_error
        workers = [p for p in _children(server) if "spawn_main" in _cmdline(p)]
        assert workers
        for worker in workers:
            assert os.readlink(f"/proc/{worker}/fd/1") == os.devnull


def test_workers_exit_when_the_server_is_killed() -> None:
    # A server stopped by SIGKILL runs no exit hook; its workers notice and go within a second or so.
    code = (
        "import asyncio, os, sys, time; from pylon_mcp import offload; "
        "print(asyncio.run(offload.run(os.getpid)), flush=True); time.sleep(60)"
    )
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        worker = int(server.stdout.readline())
    finally:
        server.kill()
        server.wait()
    for _ in range(100):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"worker {worker} outlived its server")


async def test_attachment_jobs_cross_the_process_boundary() -> None:
    # images.shrink and pdfs.extract run in the worker: their results and refusals are plain, picklable data.
    import io

    from PIL import Image

    from pylon_mcp.attachments.convert import off_loop
    from pylon_mcp.attachments.images import ImageRefused, Shrunk, shrink
    from pylon_mcp.attachments.pdfs import PdfRefused, extract

    out = io.BytesIO()
    Image.new("RGB", (2000, 1000), (200, 10, 10)).save(out, "PNG")
    shrunk = await off_loop(shrink, out.getvalue(), "PNG")
    assert isinstance(shrunk, Shrunk) and (shrunk.width, shrunk.shown_width, shrunk.mime) == (
        2000,
        1568,
        "image/png",
    )
    with pytest.raises(ImageRefused, match="could not be decoded"):
        await off_loop(shrink, b"\x89PNG\r\n\x1a\nnot really", "PNG")
    with pytest.raises(PdfRefused, match="could not be read"):
        await off_loop(extract, b"%PDF-1.7 nothing else")


async def test_a_conversion_over_the_time_limit_becomes_a_note_or_an_argument_error(
    sandbox_url: str, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pylon_mcp.render import html as html_module
    from tests.mcp_helpers import connect, fails, ok

    async def overrun(fn: object, *args: object, **options: object) -> object:
        raise offload.JobTimedOut("it ran for over 30 s and was stopped")

    monkeypatch.setattr(offload, "run", overrun)
    monkeypatch.setattr(html_module, "_recent", html_module._RecentConversions())
    sandbox.store.find("144").body_html = "<p>" + "a long customer body " * 1000 + "</p>"
    async with connect(sandbox_url) as client:
        shown = text(await ok(client, "get_issue", {"issue_id": "144"}))
        refused = await fails(client, "add_internal_note", {"issue_id": "7", "body_markdown": "x " * 5000})
    assert "could not be converted: it ran for over 30 s" in shown and "a long customer body" not in shown
    assert "body_markdown" in refused and "over 30 s" in refused
    assert not sandbox.requests("POST /issues/{id}/note")
