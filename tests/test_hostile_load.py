"""Hostile bodies under load (issue 14, item 19): conversion is bounded and runs off the event loop,
in a worker process (pylon_mcp/offload.py; that it is another process is tested in tests/test_offload.py).

Speed itself is measured in benchmarks/hostile_body.py (benchmark 8), not asserted here.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from mcp import Client

from pylon_mcp import offload
from pylon_mcp.render import html as html_module
from pylon_mcp.sandbox import Sandbox
from tests.mcp_helpers import connect, fails, ok, text

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(sandbox_url: str) -> AsyncIterator[Client]:
    async with connect(sandbox_url) as c:
        yield c


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the name of every job sent to the worker process."""
    seen: list[str] = []
    original = offload.run

    async def recording(fn: Callable[..., Any], *args: Any, **options: Any) -> Any:
        seen.append(fn.__name__)
        return await original(fn, *args, **options)

    monkeypatch.setattr(offload, "run", recording)
    return seen


@pytest.fixture
def conversion_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the thread every body conversion in this process runs on (with an empty conversion
    cache); conversions in the worker process are not recorded (see `jobs`)."""
    seen: list[int] = []
    original = html_module._convert_body

    def recording(html: str) -> tuple[str, bool]:
        seen.append(threading.get_ident())
        return original(html)

    monkeypatch.setattr(html_module, "_convert_body", recording)
    monkeypatch.setattr(html_module, "_recent", html_module._RecentConversions())
    return seen


LARGE = "<p>" + "a long customer body " * 1000 + "</p>"  # over INLINE_HTML_CHARS


async def test_get_issue_converts_a_large_body_off_the_event_loop(
    client: Client, sandbox: Sandbox, conversion_threads: list[int], jobs: list[str]
) -> None:
    assert len(LARGE) > html_module.INLINE_HTML_CHARS
    sandbox.store.find("144").body_html = LARGE
    sandbox.store.find("21").body_html = LARGE + "<p>another</p>"
    shown = text(await ok(client, "get_issue", {"issue_id": "144"}))
    (content,) = (await client.read_resource("pylon://issues/21")).contents
    assert "a long customer body" in shown and "a long customer body" in content.text  # type: ignore[union-attr]
    assert jobs == ["convert_in_worker"] * 2 and conversion_threads == []  # none in this process


def nested(kind: str, size: int) -> str:
    opener, closer = ("<ul><li>x", "</li></ul>") if kind == "ul" else ("<div>x", "</div>")
    depth = size // (len(opener) + len(closer))
    return "<p>head</p>" + opener * depth + closer * depth + "<p>tail</p>"


@pytest.mark.parametrize("kind", ["ul", "div"])
async def test_a_500_kb_nested_body_is_cut_at_the_depth_limit(
    client: Client, sandbox: Sandbox, kind: str
) -> None:
    created = await ok(
        client,
        "create_issue",
        {"title": "hostile", "requester_email": "h@hostile.example", "body_html": "<p>placeholder</p>"},
    )
    number = (created.structured_content or {})["issue"]["number"]
    sandbox.store.find(str(number)).body_html = nested(kind, 500_000)
    first = await ok(client, "get_issue", {"issue_id": str(number)})
    total = (first.structured_content or {})["body"]["total_chars"]
    last = text(await ok(client, "get_issue", {"issue_id": str(number), "body_offset": max(0, total - 3000)}))
    assert "head" in text(first) and "tail" in last
    assert "levels deep are left out" in last and "include=['raw_html']" in last


async def test_create_refuses_html_nested_deeper_than_it_parses(client: Client, sandbox: Sandbox) -> None:
    message = await fails(
        client,
        "create_issue",
        {"title": "t", "requester_email": "a@b.example", "body_html": "<div>" * 5000 + "x" + "</div>" * 5000},
    )
    assert "body_html" in message and "nests more than 1000" in message
    assert not sandbox.requests("POST /issues")


async def test_the_shared_off_loop_helper_converts_large_bodies_in_the_worker_process(
    conversion_threads: list[int], jobs: list[str]
) -> None:
    markdown, cut = await html_module.html_to_markdown_off_loop(LARGE + "<p hidden>SECRET</p>")
    assert "SECRET" not in markdown and not cut
    assert jobs == ["convert_in_worker"] and conversion_threads == []
    # Remembered: rendering it again (inline, as get_issue does after converting) converts nothing.
    assert html_module.html_to_markdown(LARGE + "<p hidden>SECRET</p>") == (markdown, cut)
    assert conversion_threads == []


async def test_small_bodies_convert_inline(
    client: Client, conversion_threads: list[int], jobs: list[str]
) -> None:
    # A small body converts in well under a millisecond, less than a thread hop costs per call.
    markdown, cut = await html_module.html_to_markdown_off_loop("<p>hello</p><p hidden>SECRET</p>")
    assert markdown.startswith("hello\n\n[6 characters of hidden") and not cut
    await ok(client, "get_issue", {"issue_id": "144"})
    assert conversion_threads == [threading.get_ident()] * 2 and jobs == []


async def test_small_bodies_with_a_style_block_convert_in_the_worker_process(
    conversion_threads: list[int], jobs: list[str]
) -> None:
    # Reading CSS is pure Python (issue 19 item 1): 5 KB of it is worth a process hop.
    body = "<style>" + "@" * 5_000 + "</style><p>hello</p>"
    markdown, _ = await html_module.html_to_markdown_off_loop(body)
    assert markdown == "hello"
    assert jobs == ["convert_in_worker"] and conversion_threads == []


async def test_messages_are_converted_off_the_event_loop(
    client: Client, conversion_threads: list[int]
) -> None:
    await ok(client, "get_issue_messages", {"issue_id": "7"})
    (content,) = (await client.read_resource("pylon://issues/8/messages")).contents
    assert content.text  # type: ignore[union-attr]
    assert conversion_threads and threading.get_ident() not in conversion_threads


# Issue 19, item 7: four notes of 100 KB Markdown brackets pushed others' p50 to 2.5 s; a reply preview
# of the same took 3.4 s (an image pattern that backtracked, on the event loop). Speed is measured in
# benchmarks/hostile_writes.py (benchmark 15).
BRACKETS = "![" * 50_000  # 100 KB, the longest body a note or reply takes


@pytest.fixture
def markdown_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the thread every Markdown → HTML conversion runs on."""
    seen: list[int] = []
    renderer = html_module._markdown_renderer()

    def recording(markdown: str) -> str:
        seen.append(threading.get_ident())
        return str(renderer(markdown))

    monkeypatch.setattr(html_module, "_markdown_renderer", lambda: recording)
    monkeypatch.setattr(html_module, "_recent", html_module._RecentConversions())
    return seen


async def test_large_notes_and_reply_previews_convert_off_the_event_loop(
    sandbox_url: str,
    sandbox: Sandbox,
    markdown_threads: list[int],
    conversion_threads: list[int],
    jobs: list[str],
) -> None:
    loop_thread = threading.get_ident()
    async with connect(sandbox_url, allow_customer_replies=True) as client:
        note = await ok(client, "add_internal_note", {"issue_id": "7", "body_markdown": BRACKETS})
        preview = await ok(
            client, "send_customer_reply", {"issue_id": "7", "body_markdown": "!" + BRACKETS[:-1]}
        )
        small = await ok(client, "add_internal_note", {"issue_id": "7", "body_markdown": "short *note*"})
    assert "Added internal note" in text(note) and "PREVIEW" in text(preview) and "Added" in text(small)
    assert [r.body["body_html"].count("![") for r in sandbox.requests("POST /issues/{id}/note")] == [
        50_000,
        0,
    ]
    assert markdown_threads == [loop_thread]  # only the small one converts in this process
    assert jobs == ["outbound_with_markdown"] * 2
    assert conversion_threads == [
        loop_thread
    ]  # the small note; the preview shows the Markdown made in the job


def test_images_become_links_as_before() -> None:
    convert = html_module._images_as_links
    assert (
        convert('a ![logo](https://x.example/l.png "Logo") b') == "a [image: logo](https://x.example/l.png) b"
    )
    assert convert("![](cid:1) and ![x](y)") == "[image: untitled](cid:1) and [image: x](y)"
    assert convert("![![![") == "![![![" and convert("![a](b c)") == "![a](b c)"
