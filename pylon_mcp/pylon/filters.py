"""The `POST /issues/search` filter grammar, as the spec's description states it.

A filter is `{field, operator, value | values, subfilters}`. Which operators a
field allows is a fixed table (below, copied from the spec and checked against
it by a test). Trees nest at most 3 deep. Models invent operators (`gte`,
`after`, `eq`), so everything is validated here before a request is sent, with
errors that name the offending path and the allowed values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pylon_mcp.pylon.errors import InvalidRequest
from pylon_mcp.pylon.models import BASE_STATES, ISSUE_TYPES, Filter
from pylon_mcp.pylon.timefmt import format_rfc3339, parse_rfc3339

MAX_DEPTH = 3

# The spec's Filter.operator enum.
ALL_OPERATORS: tuple[str, ...] = (
    "equals",
    "not_equals",
    "contains",
    "does_not_contain",
    "in",
    "not_in",
    "and",
    "or",
    "time_is_after",
    "time_is_before",
    "time_range",
    "string_contains",
    "string_does_not_contain",
    "is_set",
    "is_unset",
    "greater_than",
    "less_than",
    "greater_than_or_equals",
    "less_than_or_equals",
)
COMPOUND_OPERATORS: tuple[str, ...] = ("and", "or")

_TIME = ("time_is_after", "time_is_before", "time_range")
_ID = ("equals", "in", "not_in")
_ID_SETTABLE = ("equals", "in", "not_in", "is_set", "is_unset")
_TEXT = ("string_contains", "string_does_not_contain")

# Field -> allowed operators: the table in the spec's /issues/search description.
FIELD_OPERATORS: dict[str, tuple[str, ...]] = {
    "created_at": _TIME,
    "updated_at": _TIME,
    "resolved_at": _TIME,
    "latest_message_activity_at": _TIME,
    "account_id": _ID_SETTABLE,
    "ticket_form_id": _ID_SETTABLE,
    "requester_id": _ID_SETTABLE,
    "assignee_id": _ID_SETTABLE,
    "issue_type": _ID_SETTABLE,
    "follower_user_id": _ID,
    "follower_contact_id": _ID,
    "state": _ID,
    "team_id": _ID,
    "tags": ("contains", "does_not_contain", "in", "not_in"),
    "title": _TEXT,
    "body_html": _TEXT,
}

# Fields whose values are a closed set. `state` also takes custom status slugs.
FIELD_VALUES: dict[str, tuple[str, ...]] = {"state": BASE_STATES, "issue_type": ISSUE_TYPES}

# Custom fields are filtered by slug; the spec lists no operator set for them.
CUSTOM_FIELD_OPERATORS: tuple[str, ...] = tuple(op for op in ALL_OPERATORS if op not in COMPOUND_OPERATORS)

# Which operand each operator takes.
_VALUE_OPS = frozenset(
    {
        "equals",
        "not_equals",
        "contains",
        "does_not_contain",
        "time_is_after",
        "time_is_before",
        "string_contains",
        "string_does_not_contain",
        "greater_than",
        "less_than",
        "greater_than_or_equals",
        "less_than_or_equals",
    }
)
_VALUES_OPS = frozenset({"in", "not_in", "time_range"})
_NO_OPERAND_OPS = frozenset({"is_set", "is_unset"})
_NUMERIC_OPS = frozenset({"greater_than", "less_than", "greater_than_or_equals", "less_than_or_equals"})


def _operator_guide() -> str:
    """Fields grouped by their operator set, straight from the spec table."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for field, ops in FIELD_OPERATORS.items():
        groups.setdefault(ops, []).append(field)
    return "; ".join(f"{', '.join(fields)}: {'|'.join(ops)}" for ops, fields in groups.items())


# The tool schema leaves this table out (it would cost 2 KB on every turn): a wrong field
# gets it here, once, when it is needed.
FIELDS_HINT = (
    f"Fields and their operators: {_operator_guide()}; a custom field slug: any but and/or. "
    "in, not_in, time_range take values; is_set, is_unset take neither; the rest take value"
)
_CUSTOM_SLUG = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_STATE_SLUG = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


def allowed_operators(field: str) -> tuple[str, ...]:
    return FIELD_OPERATORS.get(field, CUSTOM_FIELD_OPERATORS)


def _fail(path: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{path}: {message}", field=path)


def validate_filter(raw: Mapping[str, Any] | Filter, *, path: str = "filter", _depth: int = 1) -> Filter:
    """Check a filter tree against the grammar and return it as a `Filter`.

    Raises InvalidRequest naming the path (e.g. `filter.subfilters[1].operator`)
    and what is allowed there.
    """
    data: Mapping[str, Any] = raw.model_dump(exclude_none=True) if isinstance(raw, Filter) else raw
    if not isinstance(data, Mapping):
        raise _fail(path, "must be an object like {field, operator, value|values, subfilters}")
    unknown = set(data) - {"field", "operator", "value", "values", "subfilters"}
    if unknown:
        raise _fail(
            path,
            f"unknown key(s) {sorted(unknown)}; a filter has only field, operator, value, values, subfilters",
        )
    if _depth > MAX_DEPTH:
        raise _fail(path, f"filters nest at most {MAX_DEPTH} levels deep")

    operator = data.get("operator")
    if not isinstance(operator, str) or operator not in ALL_OPERATORS:
        field = data.get("field")
        if isinstance(field, str) and field:
            allowed = allowed_operators(field)
            raise _fail(
                f"{path}.operator",
                f"{operator!r} is not an operator. Allowed for '{field}': {', '.join(allowed)}",
            )
        raise _fail(
            f"{path}.operator", f"{operator!r} is not an operator. Allowed: {', '.join(ALL_OPERATORS)}"
        )

    if operator in COMPOUND_OPERATORS:
        return _validate_compound(data, operator, path, _depth)
    return _validate_leaf(data, operator, path)


def _validate_compound(data: Mapping[str, Any], operator: str, path: str, depth: int) -> Filter:
    subfilters = data.get("subfilters")
    if not isinstance(subfilters, list) or not subfilters:
        raise _fail(f"{path}.subfilters", f"'{operator}' needs a non-empty list of subfilters")
    if data.get("value") is not None or data.get("values") is not None:
        raise _fail(path, f"'{operator}' takes subfilters, not value/values")
    if data.get("field"):
        raise _fail(f"{path}.field", f"'{operator}' combines subfilters and takes no field")
    children = [
        validate_filter(child, path=f"{path}.subfilters[{i}]", _depth=depth + 1)
        for i, child in enumerate(subfilters)
    ]
    return Filter(operator=operator, subfilters=children)


def _validate_leaf(data: Mapping[str, Any], operator: str, path: str) -> Filter:
    field = data.get("field")
    if not isinstance(field, str) or not field:
        raise _fail(
            f"{path}.field",
            f"required for operator '{operator}'. {FIELDS_HINT}",
        )
    if data.get("subfilters"):
        raise _fail(f"{path}.subfilters", "only 'and'/'or' filters take subfilters")
    known = field in FIELD_OPERATORS
    if not known and not _CUSTOM_SLUG.match(field):
        raise _fail(
            f"{path}.field",
            f"{field!r} is not a filterable field. {FIELDS_HINT}",
        )
    allowed = allowed_operators(field)
    if operator not in allowed:
        raise _fail(
            f"{path}.operator",
            f"'{operator}' is not allowed for field '{field}'. Allowed: {', '.join(allowed)}",
        )

    value, values = data.get("value"), data.get("values")
    if operator in _NO_OPERAND_OPS:
        if value is not None or values is not None:
            raise _fail(path, f"'{operator}' takes neither value nor values")
        return Filter(field=field, operator=operator)
    if operator in _VALUES_OPS:
        if value is not None:
            raise _fail(f"{path}.value", f"'{operator}' takes 'values' (a list), not 'value'")
        checked = _string_list(values, f"{path}.values", operator)
        if operator == "time_range":
            if len(checked) != 2:
                raise _fail(f"{path}.values", "'time_range' takes exactly two RFC3339 times: [start, end]")
            start, end = (_time(v, f"{path}.values[{i}]") for i, v in enumerate(checked))
            if end < start:
                raise _fail(f"{path}.values", "time_range end is before its start")
            return Filter(field=field, operator=operator, values=[format_rfc3339(start), format_rfc3339(end)])
        for i, item in enumerate(checked):
            _check_value(field, item, f"{path}.values[{i}]")
        return Filter(field=field, operator=operator, values=checked)

    if values is not None:
        raise _fail(f"{path}.values", f"'{operator}' takes a single 'value', not 'values'")
    if not isinstance(value, str) or value == "":
        raise _fail(f"{path}.value", f"'{operator}' needs a non-empty string 'value'")
    if operator in ("time_is_after", "time_is_before"):
        # Canonical UTC form: Pylon parses Go-strict RFC3339 (no lowercase 't'/'z').
        value = format_rfc3339(_time(value, f"{path}.value"))
    elif operator in _NUMERIC_OPS:
        try:
            float(value)
        except ValueError:
            raise _fail(
                f"{path}.value", f"'{operator}' compares numbers; {value!r} is not a number"
            ) from None
    else:
        _check_value(field, value, f"{path}.value")
    return Filter(field=field, operator=operator, value=value)


def _string_list(values: Any, path: str, operator: str) -> list[str]:
    if not isinstance(values, list) or not values:
        raise _fail(path, f"'{operator}' needs a non-empty list of strings")
    if not all(isinstance(v, str) and v for v in values):
        raise _fail(path, "every item must be a non-empty string")
    return list(values)


def _time(value: str, path: str) -> datetime:
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise _fail(path, str(exc)) from None


def _check_value(field: str, value: str, path: str) -> None:
    closed = FIELD_VALUES.get(field)
    if closed is None or value in closed:
        return
    if field == "state" and _STATE_SLUG.match(value):
        return  # a custom status slug; only Pylon knows which exist
    extra = " or a custom status slug" if field == "state" else ""
    raise _fail(path, f"{value!r} is not a valid {field}. Allowed: {', '.join(closed)}{extra}")


def custom_fields(tree: Filter) -> list[str]:
    """Fields in a tree that are not in the spec's table: custom field slugs, or a model's guess."""
    own = [tree.field] if tree.field and tree.field not in FIELD_OPERATORS else []
    return own + [name for child in tree.subfilters or [] for name in custom_fields(child)]


def depth(tree: Filter) -> int:
    if not tree.subfilters:
        return 1
    return 1 + max(depth(child) for child in tree.subfilters)


def combine_and(filters: Iterable[Filter]) -> Filter:
    """AND filters, flattening nested ANDs so the result stays within MAX_DEPTH when it can."""
    flat: list[Filter] = []
    for item in filters:
        if item.operator == "and" and item.subfilters:
            flat.extend(item.subfilters)
        else:
            flat.append(item)
    if not flat:
        raise InvalidRequest("at least one filter is required", field="filter")
    combined = flat[0] if len(flat) == 1 else Filter(operator="and", subfilters=flat)
    if depth(combined) > MAX_DEPTH:
        raise InvalidRequest(
            f"the combined filter nests {depth(combined)} levels; Pylon allows {MAX_DEPTH}. "
            "Simplify the 'filter' argument or use fewer flat arguments.",
            field="filter",
        )
    return combined
