"""Model-facing text has no slips: no doubled words ("events events"), no doubled parenthetical
phrases ("(slug or label) (slug or label)") in tool and argument descriptions, the server's
instructions, prompt texts, or the sandbox's demo data over a few seeds (issue 20, item 9)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from pylon_mcp.config import Settings
from pylon_mcp.sandbox import Sandbox
from pylon_mcp.server import build_server
from tests.conftest import ANCHOR, TOKEN
from tests.mcp_helpers import connect

_DOUBLED_WORD = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)
_DOUBLED_ASIDE = re.compile(r"(\([^()]+\))[\s,;]*\1")
_TAG = re.compile(r"<[^>]+>")


def slips(text: str) -> list[str]:
    plain = " ".join(_TAG.sub(" ", text).split())
    found = [m.group(0) for m in _DOUBLED_WORD.finditer(plain) if not m.group(1).isdigit()]
    return found + [m.group(0) for m in _DOUBLED_ASIDE.finditer(plain)]


def test_the_check_finds_both_kinds_of_slip() -> None:
    assert slips("or a custom status (slug or label) (slug or label)") == ["(slug or label) (slug or label)"]
    assert slips("<p>Webhook deliveries for events events are delayed</p>") == ["events events"]
    assert slips("a status (slug or label), and a label") == []


def descriptions(schema: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every description in a JSON schema, with where it sits."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "description" and isinstance(value, str):
                yield where, value
            else:
                yield from descriptions(value, f"{where}.{key}")
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from descriptions(item, f"{where}[{index}]")


@pytest.mark.anyio
async def test_tool_definitions_instructions_and_prompts(sandbox_url: str) -> None:
    texts: list[tuple[str, str]] = []
    everything = {"enable_delete": True, "allow_customer_replies": True}
    async with connect(sandbox_url, **everything) as client:
        texts.append(("instructions", client.instructions or ""))
        for tool in (await client.list_tools()).tools:
            texts.append((tool.name, tool.description or ""))
            texts.extend(descriptions(tool.input_schema, f"{tool.name}.input"))
            texts.extend(descriptions(tool.output_schema or {}, f"{tool.name}.output"))
        for prompt in (await client.list_prompts()).prompts:
            texts.append((prompt.name, prompt.description or ""))
            arguments = {a.name: "42" for a in prompt.arguments or [] if a.required}
            for message in (await client.get_prompt(prompt.name, arguments)).messages:
                texts.append((f"prompt {prompt.name}", getattr(message.content, "text", "")))
    instructions_read_only = build_server(Settings(read_only=True, demo=True)).instructions or ""
    texts.append(("instructions (read-only demo)", instructions_read_only))
    assert len(texts) > 50
    found = {where: slips(text) for where, text in texts if slips(text)}
    assert found == {}


@pytest.mark.parametrize("seed", [1, 7, 2026])
def test_sandbox_demo_data(seed: int) -> None:
    sandbox = Sandbox(token=TOKEN, issues=300, seed=seed, anchor=ANCHOR)
    found: dict[str, list[str]] = {}
    for record in sandbox.store._order:
        conversation = sandbox.store.conversations.of(record)
        texts = [record.title, record.body_html, *(m.html for m in conversation.messages)]
        for text in texts:
            if text and (slipped := slips(text)):
                found[f"#{record.number}"] = slipped
    assert found == {}
