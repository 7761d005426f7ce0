"""Posting a note or a reply at most once: never repeated once Pylon may have seen it.

Without an `idempotency_key`, an unknown outcome (a 5xx, a timeout, a lost answer) is reported
with how to check, never retried. With a key, a repeat within 10 minutes returns the first
result, and after an unknown outcome it first looks for the message in the conversation
(same kind, same text, posted since) instead of posting it again; while the first attempt
could still land (Pylon may apply it after we stopped waiting) and it is not there, the
repeat sends nothing and says when it is safe. Keys share the server's ledger
(pylon_mcp/idempotency.py, in-process or in Redis), namespaced by kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from pylon_mcp import idempotency
from pylon_mcp.pylon.client import PylonClient
from pylon_mcp.pylon.errors import PylonError
from pylon_mcp.render.html import html_to_markdown
from pylon_mcp.render.text import quote
from pylon_mcp.shared.base import SharedStateUnavailable
from pylon_mcp.surface.tools.context import app
from pylon_mcp.surface.tools.errors import describe

if TYPE_CHECKING:
    from pylon_mcp.pylon.message_models import CreatedMessage, Message


def refused(field: str, message: str) -> ToolError:
    """A refusal that needed a read of the issue first (so not "Invalid argument": that means no request)."""
    return ToolError(f"refused '{field}': {message}")


def _same_text(a: str, b: str) -> bool:
    return " ".join(html_to_markdown(a)[0].split()) == " ".join(html_to_markdown(b)[0].split())


async def _find_posted(
    pylon: PylonClient, issue_id: str, html: str, private: bool, since: str
) -> Message | None:
    """A message an unsure earlier attempt may have posted: same text, same kind, since that attempt."""
    messages, _ = await pylon.all_messages(issue_id)
    for message in reversed(messages):
        if (message.timestamp or "") < since:
            break
        if bool(message.is_private) == private and _same_text(message.message_html or "", html):
            return message
    return None


class UnsureWrite(ToolError):
    """Pylon may have posted the message: never to be retried blindly."""

    settles: float | None = None  # until when it may still land (epoch s; idempotency.run_once records it)


_VERB = {"note": "post", "reply": "send"}


def _unsure(exc: PylonError, what: str, ref: str, key: str | None, settle: float) -> ToolError:
    settles = idempotency.settles_from_now(settle)
    safe = idempotency.when(settles)
    if key is None:
        how = (
            f"Pylon may still {_VERB[what]} it until {safe}; after then, get_issue_messages with "
            f"issue_id={quote(ref)} shows whether the {what} is there (at the end)"
        )
        return UnsureWrite(f"{describe(exc)} Do not simply retry: {how}.")
    how = (
        f"Pylon may still {_VERB[what]} it until {safe}. Repeat the call with the same idempotency_key "
        f"({key!r}) after {safe}: it checks the conversation first and {_VERB[what]}s only if the {what} is "
        "not there"
    )
    if what == "reply":
        how += (
            "; that repeat needs the person's approval again (a confirmation_token works once: ask for a fresh "
            "preview), and tell them the first attempt may have reached the customer"
        )
    error = UnsureWrite(f"{describe(exc)} Do not simply retry: {how}.")
    error.settles = settles
    return error


def not_settled(exc: idempotency.NotSettled, what: str, ref: str) -> ToolError:
    """The repeat of an unsure post came too early: when it is safe, and how to force it."""
    verb = _VERB[what]
    text = (
        f"Not {'sent' if what == 'reply' else 'posted'}: an earlier call with idempotency_key {exc.key!r} ended "
        f"without a clear answer from Pylon, and its {what} is not in issue #{ref}'s conversation yet, but Pylon "
        f"may still {verb} it until {exc.at} ({exc.seconds_left} s from now). Nothing was sent now. Repeat this "
        f"same call after {exc.at}: it looks again and {verb}s only if the {what} is still not there."
    )
    if what == "reply":
        text += (
            " Sending it now with a new idempotency_key could email the customer twice: do that only if the "
            "person, told so, approves a fresh preview."
        )
    else:
        text += (
            f" To {verb} it now anyway, accepting that it may then appear twice, use a new idempotency_key."
        )
    return ToolError(text)


async def post_once(
    ctx: Context,
    *,
    kind: str,
    key: str | None,
    fingerprint_of: dict[str, Any],
    issue_id: str,
    html: str,
    ref: str,
    post: Callable[[], Awaitable[CreatedMessage]],
) -> tuple[str | None, str | None]:
    """Run `post()` (a note or reply), at most once per idempotency key. Returns (message id, note)."""
    state = app(ctx)
    private = kind == "note"
    settle = idempotency.settle_window(state.pylon.timeout)
    if key is None:
        try:
            created = await post()
        except PylonError as exc:
            if exc.write_may_have_applied:
                raise _unsure(exc, kind, ref, None, settle) from exc
            raise
        return created.id, None

    async def attempt() -> dict[str, Any]:
        try:
            created = await post()
        except PylonError as exc:
            if exc.write_may_have_applied:
                raise _unsure(exc, kind, ref, key, settle) from exc
            raise
        return {"id": created.id}

    async def recover(since: str) -> dict[str, Any] | None:
        found = await _find_posted(state.pylon, issue_id, html, private, since)
        return None if found is None else {"id": found.id}

    try:
        record, how = await idempotency.run_once(
            state.shared.ledger,
            kind,
            key,
            idempotency.fingerprint({"issue": issue_id, **fingerprint_of}),
            attempt=attempt,
            recover=recover,
            unsure=_may_have_applied,
            settle=settle,
        )
    except idempotency.NotSettled as exc:
        raise not_settled(exc, kind, ref) from None
    except idempotency.KeyReused:
        raise refused(
            "idempotency_key", "this key was already used with different arguments; use a new key"
        ) from None
    except idempotency.StillRunning:
        raise ToolError(
            f"another call with this idempotency_key is still posting this {kind}; repeat this call in a few "
            "seconds to get its result. Nothing was sent to Pylon."
        ) from None
    except SharedStateUnavailable as exc:
        raise ToolError(
            f"idempotency_key cannot be honoured for now: {exc}. Without the shared ledger the {kind} "
            "could be posted twice, so nothing was sent to Pylon. Retry shortly."
        ) from exc
    again = "sent" if kind == "reply" else "posted"
    if how == "repeat":
        return record["id"], f"Already done by an earlier call with this idempotency_key; not {again} again."
    if how == "recovered":
        return record["id"], (
            f"The earlier attempt with this idempotency_key did {_VERB[kind]} it; not {again} again."
        )
    return record["id"], None


def _may_have_applied(exc: BaseException) -> bool:
    cause = exc.__cause__ if isinstance(exc, UnsureWrite) else exc
    return isinstance(exc, UnsureWrite) or (isinstance(cause, PylonError) and cause.write_may_have_applied)
