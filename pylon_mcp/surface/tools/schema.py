"""Make pydantic's JSON Schemas small and easy for every MCP client and model API to consume.

`compact` (input and output schemas):
- `$ref`/`$defs` are inlined (our filter is bounded to 3 levels, so this ends):
  several clients and model APIs reject or mishandle references.
- `title` keywords pydantic adds to every property are dropped: they repeat the
  property name and cost tokens in every tools/list.
- `anyOf: [X, {type: null}]` becomes X with `default: null` removed: optional
  arguments are simply not required, and our outputs never contain nulls.

`for_model` (input schemas only; a model reads them on every turn) then keeps
only the portable subset that OpenAI's strict conversion, Gemini's function
declarations and JSON Schema 2020-12 all accept (tests/test_schema_portability.py):
- length and count bounds (`minLength`, `maxLength`, `minItems`, `maxItems`),
  `default` and `additionalProperties` are dropped: the argument models still
  enforce them, and a call that breaks one gets an error naming the limit;
- `const` becomes a one-value `enum`; an array's item description is dropped
  when the array has its own.
Validation always runs on the pydantic models, so this changes presentation only;
the tools/list snapshots pin the result.
"""

from __future__ import annotations

from typing import Any

# Enforced by the argument models, explained by their errors; not worth a model's context.
_VALIDATION_ONLY = frozenset(
    {"minLength", "maxLength", "minItems", "maxItems", "default", "additionalProperties"}
)


def compact(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema.get("$defs", {})
    out = _walk({k: v for k, v in schema.items() if k != "$defs"}, defs)
    assert isinstance(out, dict)
    return out


def for_model(schema: dict[str, Any]) -> dict[str, Any]:
    """An input schema as a model needs it: types, enums, ranges, required names and short descriptions."""
    out = _portable(compact(schema))
    assert isinstance(out, dict)
    return out


def _walk(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_walk(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _walk(merged, defs)
    options = node.get("anyOf")
    if isinstance(options, list):
        kept = [option for option in options if option != {"type": "null"}]
        if len(kept) < len(options):
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            if rest.get("default", ...) is None:
                rest.pop("default")
            return _walk({**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _walk(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _walk(value, defs)
    return out


def _portable(node: Any) -> Any:
    if isinstance(node, list):
        return [_portable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _VALIDATION_ONLY or (key == "description" and not value):
            continue
        if key == "const":
            out["enum"] = [value]
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _portable(sub) for name, sub in value.items()}
        elif key == "items" and isinstance(value, dict) and node.get("description"):
            out[key] = _portable({k: v for k, v in value.items() if k != "description"})
        else:
            out[key] = _portable(value)
    return out
