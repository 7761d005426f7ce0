"""Make pydantic's JSON Schemas small and easy for every MCP client to consume.

- `$ref`/`$defs` are inlined (our filter is bounded to 3 levels, so this ends):
  several clients and model APIs reject or mishandle references.
- `title` keywords pydantic adds to every property are dropped: they repeat the
  property name and cost tokens in every tools/list.
- `anyOf: [X, {type: null}]` becomes X with `default: null` removed: optional
  arguments are simply not required, and our outputs never contain nulls.
Validation still runs on the pydantic models, so this changes presentation only;
the tools/list snapshot test pins the result.
"""

from __future__ import annotations

from typing import Any


def compact(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema.get("$defs", {})
    out = _walk({k: v for k, v in schema.items() if k != "$defs"}, defs)
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
