"""Every published schema is one that each kind of client accepts, and terse schemas still teach via errors.

Clients hand our input schemas to model APIs that accept different subsets of JSON Schema:
- JSON Schema 2020-12 (MCP's dialect): checked against the meta-schema with `jsonschema`;
- Gemini function declarations (an OpenAPI 3.0 subset): no `additionalProperties`, `const`,
  `$ref`, `oneOf`/`allOf`; one type per schema; enums of strings; objects with properties;
- OpenAI strict mode, after the conversion agents apply (openai-agents' `ensure_strict_json_schema`
  adds `additionalProperties: false` and makes every property required): only its keywords and
  string formats, no `additionalProperties: true`, bounded depth and size.
The checkers below encode those rules from the providers' documentation; they cannot call the APIs.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client

from tests.mcp_helpers import connect, fails
from tests.test_tool_surface import tools_list

pytestmark = pytest.mark.anyio

GEMINI_KEYS = {
    "type", "format", "description", "nullable", "enum", "properties", "required", "items", "minItems",
    "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "anyOf", "title", "default",
    "example", "propertyOrdering", "minProperties", "maxProperties",
}  # fmt: skip
GEMINI_TYPES = {"string", "integer", "number", "boolean", "array", "object"}
GEMINI_FORMATS = {"date-time", "enum"}
OPENAI_KEYS = {
    "type", "description", "properties", "required", "additionalProperties", "items", "enum", "const",
    "anyOf", "format", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minItems", "maxItems", "$ref", "$defs",
}  # fmt: skip
OPENAI_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
OPENAI_MAX_DEPTH = 10
OPENAI_MAX_PROPERTIES = 5000


def subschemas(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path or "/", schema)]
    for name, sub in schema.get("properties", {}).items():
        found += subschemas(sub, f"{path}/{name}")
    if isinstance(schema.get("items"), dict):
        found += subschemas(schema["items"], f"{path}[]")
    for i, option in enumerate(schema.get("anyOf", [])):
        found += subschemas(option, f"{path}|{i}")
    return found


def gemini_problems(schema: dict[str, Any]) -> list[str]:
    problems = []
    for path, node in subschemas(schema):
        problems += [f"{path}: {key} is not in Gemini's schema subset" for key in set(node) - GEMINI_KEYS]
        kind = node.get("type")
        if "anyOf" not in node and not (isinstance(kind, str) and kind in GEMINI_TYPES):
            problems.append(f"{path}: type {kind!r} (Gemini takes exactly one of {sorted(GEMINI_TYPES)})")
        if kind == "object" and not node.get("properties"):
            problems.append(f"{path}: an object needs properties")
        if not set(node.get("required", [])) <= set(node.get("properties", {})):
            problems.append(f"{path}: required names a missing property")
        if kind == "array" and not isinstance(node.get("items"), dict):
            problems.append(f"{path}: an array needs items")
        if "enum" in node and (kind != "string" or not all(isinstance(v, str) for v in node["enum"])):
            problems.append(f"{path}: Gemini enums are strings")
        if "format" in node and node["format"] not in GEMINI_FORMATS:
            problems.append(f"{path}: format {node['format']!r}")
    return problems


def openai_strict(schema: dict[str, Any]) -> dict[str, Any]:
    """What openai-agents' ensure_strict_json_schema makes of a schema (the parts that apply to ours)."""
    out = copy.deepcopy(schema)
    for _, node in subschemas(out):
        if node.get("type") == "object":
            if node.get("additionalProperties"):
                raise ValueError("additionalProperties should be set to False for object types")
            node.setdefault("additionalProperties", False)
            node["required"] = list(node.get("properties", {}))
        if node.get("default", ...) is None:
            node.pop("default")
    return out


def openai_problems(schema: dict[str, Any]) -> list[str]:
    problems = []
    if "anyOf" in schema or schema.get("type") != "object":
        problems.append("the root must be an object, not anyOf")
    nodes = subschemas(schema)
    for path, node in nodes:
        problems += [f"{path}: {key} is not supported in strict mode" for key in set(node) - OPENAI_KEYS]
        if node.get("type") == "object":
            if node.get("additionalProperties") is not False:
                problems.append(f"{path}: additionalProperties must be false")
            if set(node.get("required", [])) != set(node.get("properties", {})):
                problems.append(f"{path}: every property must be required")
        if "format" in node and node["format"] not in OPENAI_FORMATS:
            problems.append(f"{path}: format {node['format']!r}")
        if path.count("/") + path.count("[]") > OPENAI_MAX_DEPTH:
            problems.append(f"{path}: nested deeper than {OPENAI_MAX_DEPTH}")
    if sum(len(node.get("properties", {})) for _, node in nodes) > OPENAI_MAX_PROPERTIES:
        problems.append("too many properties")
    return problems


@pytest.fixture(scope="module")
def tools() -> list[dict[str, Any]]:
    import anyio

    return anyio.run(lambda: tools_list(enable_delete=True, allow_customer_replies=True))


def test_every_schema_is_valid_json_schema_2020_12(tools: list[dict[str, Any]]) -> None:
    for tool in tools:
        Draft202012Validator.check_schema(tool["inputSchema"])
        Draft202012Validator.check_schema(tool["outputSchema"])


def test_input_schemas_fit_geminis_subset(tools: list[dict[str, Any]]) -> None:
    for tool in tools:
        assert gemini_problems(tool["inputSchema"]) == [], tool["name"]


def test_input_schemas_survive_openai_strict_conversion(tools: list[dict[str, Any]]) -> None:
    for tool in tools:
        assert openai_problems(openai_strict(tool["inputSchema"])) == [], tool["name"]


def test_the_checkers_catch_what_they_check() -> None:
    """Each rule fails on a schema that breaks it, so a passing run means something."""
    bad = {
        "type": "object",
        "properties": {
            "a": {"const": "x", "type": "string"},
            "b": {"type": ["string", "null"]},
            "c": {"type": "object", "additionalProperties": True, "properties": {"d": {"type": "string"}}},
            "e": {"type": "integer", "enum": [1, 2]},
            "f": {"type": "string", "format": "uri", "maxLength": 3},
        },
        "$defs": {},
    }
    found = " ".join(gemini_problems(bad))
    for fragment in (
        "const",
        "type ['string', 'null']",
        "additionalProperties",
        "enums are strings",
        "'uri'",
    ):
        assert fragment in found
    with pytest.raises(ValueError, match="additionalProperties"):
        openai_strict(bad)
    del bad["properties"]["c"]  # type: ignore[attr-defined]
    found = " ".join(openai_problems(openai_strict(bad)))
    assert "maxLength is not supported" in found and "'uri'" in found
    assert "every property must be required" in " ".join(openai_problems(bad))


def test_input_schemas_are_what_a_model_is_shown_and_no_more(tools: list[dict[str, Any]]) -> None:
    """Bounds the argument models enforce are not repeated in the schemas (their errors teach them)."""
    for tool in tools:
        for path, node in subschemas(tool["inputSchema"]):
            assert not {"maxLength", "minLength", "maxItems", "additionalProperties", "default"} & set(
                node
            ), (
                tool["name"],
                path,
            )


# --- what the schema no longer says, the error does ------------------------------------------


@pytest.fixture
async def client(sandbox_url: str) -> Any:
    async with connect(sandbox_url) as c:
        yield c


@pytest.mark.parametrize(
    ("tool", "arguments", "teaches"),
    [
        # The filter's field/operator table is in the error, not in the schema.
        ("search_issues", {"filter": {"field": "Status", "operator": "equals", "value": "new"}},
         ["Fields and their operators", "state, team_id: equals|in|not_in", "tags: contains|does_not_contain"]),
        ("search_issues", {"filter": {"field": "created_at", "operator": "gte", "value": "2026-01-01T00:00:00Z"}},
         ["Allowed for 'created_at': time_is_after, time_is_before, time_range"]),
        ("search_issues", {"filter": {"field": "state", "operator": "in", "value": "new"}},
         ["takes 'values' (a list)"]),
        ("search_issues", {"filter": {"field": "state", "op": "equals"}},
         ["filter.op: unknown filter key 'op'; a filter has field, operator, value, values, subfilters"]),
        # Bounds dropped from the schema come back in the error.
        ("search_issues", {"limit": 500}, ["limit", "less than or equal to 100"]),
        (
            "create_issue",
            {"title": "x" * 501, "body_html": "b", "account_id": "a"},
            ["title", "at most 500 characters"],
        ),
        ("update_issue", {"issue_id": "7", "tags": ["t"] * 51}, ["at most 50 items"]),
        ("update_issue", {"issue_id": "7", "type": "conversation"}, ["'ticket'"]),
        ("manage_followers", {"issue_id": "7", "operation": "toggle", "user_ids": ["u"]}, ["'add' or 'remove'"]),
        ("get_issue", {"issue_id": "7", "include": ["everything"]}, ["'messages' or 'account'"]),
    ],
)  # fmt: skip
async def test_an_invalid_call_teaches_the_allowed_values(
    client: Client, sandbox: Any, tool: str, arguments: dict[str, Any], teaches: list[str]
) -> None:
    message = await fails(client, tool, arguments)
    for fragment in teaches:
        assert fragment in message, message
    assert sandbox.requests() == []


async def test_a_guessed_field_that_looks_like_a_custom_slug_is_taught_by_pylons_refusal(
    client: Client, sandbox: Any
) -> None:
    # "status" could be a custom field, so only Pylon can refuse it; the refusal carries the table.
    message = await fails(
        client, "search_issues", {"filter": {"field": "status", "operator": "equals", "value": "new"}}
    )
    assert "HTTP 400" in message and "If 'status' is not one of your custom fields" in message
    assert "state, team_id: equals|in|not_in" in message
    assert len(sandbox.requests()) == 1


def test_every_argument_stays_discoverable(tools: list[dict[str, Any]]) -> None:
    """Terse is not hidden: every argument a call may pass is a property of the published schema."""
    from pylon_mcp.server import argument_metadata
    from pylon_mcp.surface.tools.registry import TOOLS

    published = {tool["name"]: tool["inputSchema"] for tool in tools}
    assert set(published) == {spec.name for spec in TOOLS}
    for spec in TOOLS:
        fields = argument_metadata(spec, {}).arg_model.model_fields  # what the server validates calls with
        schema = published[spec.name]
        assert set(schema["properties"]) == set(fields), spec.name
        required = {name for name, field in fields.items() if field.is_required()}
        assert set(schema.get("required", [])) == required, spec.name
