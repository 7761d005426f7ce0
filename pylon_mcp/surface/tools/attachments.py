"""get_attachment: what the customer sent (screenshots, logs, PDFs), fetched through the guarded door.

Only a URL the issue itself lists (or its number there) is fetched; pylon_mcp/fetch.py decides
where the server may connect; attachments/ decides what is opened, off the event loop.
"""

from __future__ import annotations

import base64
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, ImageContent, TextContent
from pydantic import BeforeValidator, Field

from pylon_mcp.attachments.convert import decode_text, off_loop
from pylon_mcp.attachments.listing import numbered
from pylon_mcp.attachments.sniff import sniff
from pylon_mcp.fetch import FetchError, FetchPolicy, fetch, system_resolver
from pylon_mcp.pylon.client import issue_ref
from pylon_mcp.render.attachments import (
    AttachmentResult,
    file_name,
    image_text,
    no_text_layer,
    not_opened_text,
    text_body,
)
from pylon_mcp.render.issues import dump
from pylon_mcp.render.text import inline, strip_invisible, window
from pylon_mcp.surface.tools.args import count
from pylon_mcp.surface.tools.context import app
from pylon_mcp.surface.tools.conversation import IssueRef
from pylon_mcp.surface.tools.errors import bad_argument
from pylon_mcp.surface.tools.posting import refused

MAX_LISTED = 12  # attachments named in a refusal


def _number_as_text(value: object) -> object:
    """`url` is text, but a model asking for attachment 2 may well send the number 2."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


async def get_attachment(
    issue_id: IssueRef,
    url: Annotated[
        str,
        Field(min_length=1, max_length=2048, description="Its URL or number as listed"),
        BeforeValidator(_number_as_text),
    ],
    ctx: Context,
    offset: count(ge=0, description="Text: where to read on") = 0,
) -> Annotated[CallToolResult, AttachmentResult]:
    """Read a file attached to an issue or its messages: images as images, text and PDF text fenced.

    Other types only described."""
    state = app(ctx)
    wanted = url.strip()
    digits = wanted.removeprefix("#")
    number = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 6 else None
    ref = issue_ref(issue_id)
    issue = await state.pylon.get_issue(ref)
    state.recent.remember([issue])
    label = str(issue.number) if issue.number is not None else ref
    listed = numbered(issue.attachment_urls)
    if (number is not None and number > len(listed)) or (number is None and wanted not in listed):
        messages, _ = await state.pylon.all_messages(issue.id or ref)
        listed = numbered(issue.attachment_urls, (m.file_urls for m in messages))
    if number is not None:
        if not 1 <= number <= len(listed):
            span = f"1–{len(listed)}" if listed else "none: it has no attachments"
            raise refused(
                "url", f"issue #{label} has no attachment {number} (numbers: {span}). Nothing was fetched."
            )
        target = listed[number - 1]
    elif wanted in listed:
        target = wanted
        number = listed.index(wanted) + 1
    else:
        shown = ", ".join(f"({n}) {inline(file_name(u))}" for n, u in enumerate(listed[:MAX_LISTED], start=1))
        raise refused(
            "url",
            f"{inline(wanted[:200])} is not an attachment of issue #{label}; only the files the issue and its "
            f"messages list are read. Its attachments: {shown or 'none'}. Nothing was fetched.",
        )
    return await read(ctx, label, number, target, offset)


async def read(ctx: Context, label: str, number: int, url: str, offset: int) -> CallToolResult:
    state = app(ctx)
    settings = state.settings
    policy = FetchPolicy.of(
        settings.api_url,
        max_bytes=settings.attachment_max_bytes,
        timeout=settings.timeout,
        allowed_hosts=settings.attachment_allowed_hosts,
    )
    name = file_name(url)
    try:
        fetched = await fetch(url, policy, state.resolver or system_resolver)
    except FetchError as exc:
        raise ToolError(
            f"Could not read attachment {number} of issue #{label} ({inline(name)}): {exc}. Nothing was returned."
        ) from None
    data = fetched.content
    found = sniff(data)
    out = AttachmentResult(
        issue=label, number=number, url=url, name=name, kind=found.kind, type=found.label,
        size_bytes=len(data), opened=found.kind != "other",
    )  # fmt: skip
    if found.kind == "image":
        return await _image(out, data, found.image_format or "", label)
    if found.kind == "pdf":
        return await _pdf(ctx, out, data, label, offset)
    if found.kind == "text":
        text = await off_loop(_clean_text, data) if len(data) > 65536 else _clean_text(data)
        return _text(ctx, out, text, label, offset, [])
    return _result(not_opened_text(out), out)


def _clean_text(data: bytes) -> str:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    return strip_invisible(text)


async def _image(out: AttachmentResult, data: bytes, image_format: str, label: str) -> CallToolResult:
    from pylon_mcp.attachments.images import ImageRefused, shrink
    from pylon_mcp.offload import JobTimedOut

    try:
        shrunk = await off_loop(shrink, data, image_format)
    except (ImageRefused, JobTimedOut) as exc:
        raise ToolError(
            f"Could not read attachment {out.number} of issue #{label} ({inline(out.name)}): {exc}. "
            "Nothing was returned."
        ) from None
    out.width, out.height = shrunk.width, shrunk.height
    out.shown_width, out.shown_height, out.shown_bytes = (
        shrunk.shown_width,
        shrunk.shown_height,
        len(shrunk.data),
    )
    image = ImageContent(type="image", data=base64.b64encode(shrunk.data).decode(), mime_type=shrunk.mime)
    return CallToolResult(
        content=[TextContent(type="text", text=image_text(out, shrunk.frames)), image],
        structured_content=dump(out),
    )


async def _pdf(ctx: Context, out: AttachmentResult, data: bytes, label: str, offset: int) -> CallToolResult:
    from pylon_mcp.attachments.pdfs import PdfRefused, extract
    from pylon_mcp.offload import JobTimedOut

    try:
        pdf = await off_loop(extract, data)
    except (PdfRefused, JobTimedOut) as exc:
        raise ToolError(
            f"Could not read attachment {out.number} of issue #{label} ({inline(out.name)}): {exc}. "
            "Nothing was returned."
        ) from None
    out.pages, out.pages_read, out.has_text = pdf.pages, pdf.pages_read, pdf.has_text
    if not pdf.has_text:
        return _result(no_text_layer(out), out)
    notes = [f"Read {pdf.pages_read} of {pdf.pages} pages: {pdf.stopped}."] if pdf.stopped else []
    return _text(ctx, out, strip_invisible(pdf.text), label, offset, notes)


def _text(
    ctx: Context, out: AttachmentResult, text: str, label: str, offset: int, notes: list[str]
) -> CallToolResult:
    if offset and offset >= len(text):
        raise bad_argument("offset", f"the text has {len(text):,} characters; use an offset below that")
    part = window(text, offset, app(ctx).settings.body_chars * 3)
    out.offset, out.total_chars, out.next_offset = part.start, part.total, part.next_offset
    return _result(text_body(out, part, notes, ref=label), out)


def _result(text: str, out: AttachmentResult) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=dump(out))
