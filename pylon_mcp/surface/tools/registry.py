"""The tool catalogue: each tool's name and module, annotations, toolset, and whether it is offered by default.

The catalogue names each tool's function rather than importing it: start-up lists tools
from it and the schema cache (server.build_tools) without importing a single tool module,
their models or their renderers; a tool's module is imported when it is first called.

`select_tools` applies, in this order, the toolsets (PYLON_TOOLSETS), read-only mode,
the delete switch and PYLON_TOOLS / PYLON_EXCLUDE_TOOLS, and remembers *why* each
missing tool is missing, so a call to it is refused with a reason rather than
"unknown tool". A new tool joins a toolset by naming it in its ToolDef.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from mcp_types import ToolAnnotations

from pylon_mcp.config import ConfigError, Settings

TOOL_PACKAGE = "pylon_mcp.surface.tools"


@dataclass(frozen=True)
class ToolDef:
    name: str  # the tool's name, and the name of its function in `module`
    title: str
    read_only: bool
    # Per the MCP spec: false only for purely additive writes. Anything that overwrites
    # or removes data (state, tags, followers, the issue itself) is destructive.
    destructive: bool
    idempotent: bool
    module: str  # where the function lives, under pylon_mcp/surface/tools/ ("issues": issues.py)
    default: bool = True  # offered unless excluded; delete_issue must be switched on
    # A Settings flag of its own that must be on (customer replies); read-only mode still wins.
    switch: str | None = None
    toolset: str = "issues"  # one of TOOLSETS; PYLON_TOOLSETS picks which toolsets are offered
    # Sends something the customer sees (a reply), beyond an internal change: OAuth scope "reply".
    customer_facing: bool = False

    @property
    def fn(self) -> Callable[..., Any]:
        """The tool's function, importing its module on first use."""
        fn: Callable[..., Any] = getattr(importlib.import_module(f"{TOOL_PACKAGE}.{self.module}"), self.name)
        return fn

    @property
    def access(self) -> Literal["read", "write", "reply"]:
        """What a caller's OAuth scopes must allow (pylon_mcp/auth/policy.py)."""
        if self.customer_facing:
            return "reply"
        return "read" if self.read_only else "write"

    @property
    def annotations(self) -> ToolAnnotations:
        return ToolAnnotations(
            title=self.title,
            read_only_hint=self.read_only,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            # Every tool talks to Pylon over the internet, and issues hold text written by
            # customers: untrusted, open-world content.
            open_world_hint=True,
        )


# Toolsets, as github-mcp-server has them: a user who only triages issues can leave out the
# conversation tools, and every tool left out is tool-definition context saved on every turn.
TOOLSETS: dict[str, str] = {
    "issues": "find, read, create and change issues; followers; links to engineering tickets",
    "conversation": "an issue's messages, internal notes, and customer replies (switched on separately)",
    "directory": "users, contacts, accounts and teams: names and emails to IDs and back; account and contact cards",
    "knowledge": "search help articles, macros, resolved issues and feature requests; read an article",
}
ALL_TOOLSETS = "all"

TOOLS: tuple[ToolDef, ...] = (
    ToolDef("get_issue", "Get issue", read_only=True, destructive=False, idempotent=True, module="issues"),
    ToolDef(
        "search_issues", "Search issues", read_only=True, destructive=False, idempotent=True, module="issues"
    ),
    ToolDef(
        "find",
        "Find IDs by name",
        read_only=True,
        destructive=False,
        idempotent=True,
        module="lookup",
        toolset="directory",
    ),
    ToolDef(
        "get_account",
        "Account card",
        read_only=True,
        destructive=False,
        idempotent=True,
        module="customers",
        toolset="directory",
    ),
    ToolDef(
        "get_contact",
        "Contact card",
        read_only=True,
        destructive=False,
        idempotent=True,
        module="customers",
        toolset="directory",
    ),
    ToolDef(
        "search_knowledge",
        "Search knowledge",
        read_only=True,
        destructive=False,
        idempotent=True,
        module="knowledge",
        toolset="knowledge",
    ),
    ToolDef(
        "get_article",
        "Get article",
        read_only=True,
        destructive=False,
        idempotent=True,
        module="knowledge",
        toolset="knowledge",
    ),
    ToolDef(
        "create_issue",
        "Create issue",
        read_only=False,
        destructive=False,
        idempotent=False,
        module="issue_writes",
    ),
    ToolDef(
        "update_issue",
        "Update issue",
        read_only=False,
        destructive=True,
        idempotent=True,
        module="issue_writes",
    ),
    ToolDef(
        "snooze_issue",
        "Snooze issue",
        read_only=False,
        destructive=True,
        idempotent=True,
        module="issue_writes",
    ),
    ToolDef(
        "manage_followers",
        "Add or remove followers",
        read_only=False,
        destructive=True,
        idempotent=True,
        module="followers",
    ),
    # Unlinking removes a link, so destructive; linking twice is one link, so idempotent (and retried).
    ToolDef(
        "link_external_issue",
        "Link engineering ticket",
        read_only=False,
        destructive=True,
        idempotent=True,
        module="customers",
    ),
    ToolDef(
        "delete_issue",
        "Delete issue",
        read_only=False,
        destructive=True,
        idempotent=True,
        module="issue_writes",
        default=False,
    ),
    ToolDef(
        "get_issue_messages",
        "Read conversation",
        read_only=True,
        destructive=False,
        idempotent=True,
        module="conversation",
        toolset="conversation",
    ),
    ToolDef(
        "get_attachment",
        "Read attachment",
        read_only=True,
        destructive=False,
        idempotent=True,
        module="attachments",
        toolset="conversation",
    ),
    ToolDef(
        "add_internal_note",
        "Add internal note",
        read_only=False,
        destructive=False,
        idempotent=False,
        module="conversation",
        toolset="conversation",
    ),
    ToolDef(
        "send_customer_reply",
        "Send customer reply",
        read_only=False,
        destructive=False,
        idempotent=False,
        module="replies",
        default=False,
        switch="allow_customer_replies",
        toolset="conversation",
        customer_facing=True,
    ),
)
SWITCHED_OFF = {
    "allow_customer_replies": (
        "this tool is switched off: sending messages to customers needs "
        "PYLON_ALLOW_CUSTOMER_REPLIES=true (or --allow-customer-replies). Nothing was sent. Draft the reply "
        "for a person to send, or save it as an internal note with add_internal_note."
    ),
}
TOOL_NAMES: tuple[str, ...] = tuple(tool.name for tool in TOOLS)
DEFAULT_TOOL_NAMES: tuple[str, ...] = tuple(tool.name for tool in TOOLS if tool.default)


def chosen_toolsets(settings: Settings) -> tuple[str, ...]:
    """The toolsets PYLON_TOOLSETS names ("all", or nothing, means every toolset)."""
    names = [name.lower() for name in settings.toolsets]
    unknown = [name for name in names if name not in TOOLSETS and name != ALL_TOOLSETS]
    if unknown:
        raise ConfigError(
            f"PYLON_TOOLSETS: unknown toolset(s) {', '.join(unknown)}; "
            f"known: {', '.join((*TOOLSETS, ALL_TOOLSETS))}"
        )
    if not names or ALL_TOOLSETS in names:
        return tuple(TOOLSETS)
    return tuple(name for name in TOOLSETS if name in names)


def select_tools(settings: Settings) -> tuple[list[ToolDef], dict[str, str]]:
    """The tools to offer, and for every other known tool the reason it is not offered."""
    toolsets = chosen_toolsets(settings)
    for option, names in (("PYLON_TOOLS", settings.tools), ("PYLON_EXCLUDE_TOOLS", settings.exclude_tools)):
        unknown = [name for name in names if name not in TOOL_NAMES]
        if unknown:
            raise ConfigError(
                f"{option}: unknown tool(s) {', '.join(unknown)}; known: {', '.join(TOOL_NAMES)}"
            )
    offered: list[ToolDef] = []
    refused: dict[str, str] = {}
    for tool in TOOLS:
        if tool.toolset not in toolsets:
            refused[tool.name] = (
                f"this tool is in the '{tool.toolset}' toolset, which this server does not offer "
                f"(PYLON_TOOLSETS={','.join(toolsets)})."
            )
        elif tool.toolset == "knowledge" and settings.knowledge_index == "off":
            refused[tool.name] = (
                f"{tool.name} is switched off on this server (PYLON_KNOWLEDGE_INDEX=off). Search issues with "
                "search_issues instead."
            )
        elif settings.read_only and not tool.read_only:
            refused[tool.name] = (
                "this tool is unavailable: this server runs in read-only mode (PYLON_READ_ONLY), "
                "so it makes no changes in Pylon. Tell the user what you would change instead."
            )
        elif tool.switch is not None and not getattr(settings, tool.switch):
            refused[tool.name] = SWITCHED_OFF[tool.switch]
        elif not tool.default and tool.switch is None and not settings.enable_delete:
            refused[tool.name] = (
                "this tool is switched off (permanent deletion needs PYLON_ENABLE_DELETE=true). "
                "To get an issue out of the way, use update_issue with state 'closed'."
            )
        elif settings.tools and tool.name not in settings.tools:
            refused[tool.name] = "this tool is not in this server's PYLON_TOOLS allowlist."
        elif tool.name in settings.exclude_tools:
            refused[tool.name] = "this tool is excluded by this server's PYLON_EXCLUDE_TOOLS."
        else:
            offered.append(tool)
    return offered, refused
