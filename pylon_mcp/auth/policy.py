"""Per request, in OAuth mode: which tools the caller's scopes allow, and which Pylon user writes for them.

A tool's access kind (read, write, reply) comes from its ToolDef, so new tools slot in without
name lists here. Read-only mode and the allow/deny lists have already removed tools from the
server; scopes only narrow further, per caller.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_REQUEST
from pydantic import BaseModel

from pylon_mcp.auth.caller import Caller, UserLookup, _acting_user, current_caller
from pylon_mcp.config import Settings
from pylon_mcp.pylon.errors import PylonError
from pylon_mcp.render.errors import describe

log = logging.getLogger("pylon_mcp.auth")

Access = Literal["read", "write", "reply"]
T = TypeVar("T")


class AccessPolicy:
    def __init__(self, settings: Settings, kinds: Mapping[str, Access]) -> None:
        self.enabled = settings.oauth
        self.kinds = dict(kinds)
        self.scope_for: dict[Access, str] = dict(
            zip(("read", "write", "reply"), settings.oauth_scopes, strict=True)
        )
        self.email_claim = settings.oauth_email_claim
        self.writes_need_user = settings.oauth_writes_need_user

    def scopes_in_use(self) -> list[str]:
        """The scopes this server's offered tools use: its `scopes_supported` and 401 challenge."""
        return [scope for kind, scope in self.scope_for.items() if kind in self.kinds.values()]

    def visible(self, tools: Iterable[T], name: Callable[[T], str]) -> list[T]:
        if not self.enabled:
            return list(tools)
        caller = current_caller(self.email_claim)
        if caller is None:
            return []  # fail closed: OAuth mode without a verified caller sees nothing
        return [tool for tool in tools if self._allowed(name(tool), caller)]

    def may_read(self) -> bool:
        caller = current_caller(self.email_claim)
        return caller is not None and self.scope_for["read"] in caller.scopes

    def _allowed(self, tool: str, caller: Caller) -> bool:
        kind = self.kinds.get(tool)
        return kind is not None and self.scope_for[kind] in caller.scopes

    @asynccontextmanager
    async def call(self, tool: str, lookup: UserLookup | None) -> AsyncIterator[None]:
        """Refuse a call the caller's scopes don't allow; run writes as the caller's Pylon user."""
        kind = self.kinds.get(tool)
        if not self.enabled or kind is None:
            yield
            return
        caller = current_caller(self.email_claim)
        if caller is None:
            raise ToolError("this tool needs a signed-in caller (OAuth) on this server.")
        scope = self.scope_for[kind]
        if scope not in caller.scopes:
            log.info("call %s by %s: refused, no scope %s", tool, caller.name, scope)
            raise ToolError(
                f"this tool needs the OAuth scope {scope!r}, which your sign-in does not grant "
                f"(granted: {', '.join(sorted(caller.scopes)) or 'none'}). Nothing was sent to Pylon. "
                f"Ask your identity provider's admin for {scope!r}, then sign in again."
            )
        if kind == "read":
            yield
            return
        user_id = await self._pylon_user(tool, caller, lookup)
        as_whom = f"Pylon user {user_id}" if user_id else "the API token's user"
        token = _acting_user.set(user_id)
        try:
            yield
        except BaseException as exc:
            log.info("write %s by %s as %s: failed (%s)", tool, caller.name, as_whom, type(exc).__name__)
            raise
        else:
            log.info("write %s by %s as %s: done", tool, caller.name, as_whom)
        finally:
            _acting_user.reset(token)

    async def _pylon_user(self, tool: str, caller: Caller, lookup: UserLookup | None) -> str | None:
        user_id = None
        if caller.email is not None and caller.email_verified and lookup is not None:
            try:
                user_id = await lookup(caller.email)
            except PylonError as exc:
                raise ToolError(f"your Pylon user could not be looked up: {describe(exc)}") from exc
        if user_id is not None or not self.writes_need_user:
            return user_id
        if caller.email is None:
            why = f"your sign-in token carries no email in its {self.email_claim!r} claim"
        elif not caller.email_verified:
            why = (
                f"your sign-in token says its email {caller.email} is not verified (email_verified is false), "
                "so it is not matched to a Pylon user; verify that email with your identity provider and sign in "
                "again"
            )
        elif lookup is None:
            why = "this server has no Pylon user directory to match your sign-in to"
        else:
            why = f"no Pylon user has the email {caller.email}"
        log.info("write %s by %s: refused, no Pylon user", tool, caller.name)
        raise ToolError(
            f"writes on this server are made as the signed-in person's Pylon user, and {why}. "
            "You can still read. Nothing was sent to Pylon; ask a Pylon admin to add you as a user."
        )


# Resources and completions read issues too: without the read scope, listings are empty and the
# rest is refused. (Prompts are fixed text that only suggest tools, which are gated themselves.)
_LISTINGS = {"resources/list": ("resources", "resources"),
             "resources/templates/list": ("resource_templates", "resourceTemplates")}  # fmt: skip
_READS = frozenset({"resources/read", "resources/subscribe", "subscriptions/listen", "completion/complete"})


class ReadScopeGate:
    """SDK server middleware (OAuth mode only): the read scope guards resources and completions."""

    def __init__(self, policy: AccessPolicy) -> None:
        self.policy = policy

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if (ctx.method in _READS or ctx.method in _LISTINGS) and not self.policy.may_read():
            if ctx.method in _LISTINGS:  # the SDK's result (with its cache hints), emptied
                result = await call_next(ctx)
                field, alias = _LISTINGS[ctx.method]
                if isinstance(result, BaseModel):
                    return result.model_copy(update={field: []})
                return result if result is None else {**result, alias: []}
            scope = self.policy.scope_for["read"]
            raise MCPError(
                INVALID_REQUEST,
                f"{ctx.method} needs the OAuth scope {scope!r}, which your sign-in does not grant",
            )
        return await call_next(ctx)
