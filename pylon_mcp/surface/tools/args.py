"""Argument types shared by the tools: names are Pylon's field names, descriptions are for a model.

Pydantic validates them before a tool body runs, so a bad argument never
reaches Pylon; `server.py` turns pydantic's errors into one line per field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from pylon_mcp.pylon.filters import ALL_OPERATORS, COMPOUND_OPERATORS, FIELD_OPERATORS
from pylon_mcp.render.errors import STATES_TEXT
from pylon_mcp.surface.tools.oneline import OneLine

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _issue_id(value: Any) -> Any:
    # Models often send an issue number as a JSON number.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and not value.strip():
        raise PydanticCustomError("issue_id", 'is empty; give an issue ID or its number, e.g. "42"')
    return value


def as_list(value: Any) -> Any:
    """Every list argument takes a single value too: models send "api" as often as ["api"]."""
    return [value] if isinstance(value, str | int | float) and not isinstance(value, bool) else value


def _date_to_start_of_day(value: Any) -> Any:
    # A bare date is a common model shortcut; Pylon needs a full RFC3339 time.
    if isinstance(value, str) and _DATE_ONLY.match(value.strip()):
        return f"{value.strip()}T00:00:00Z"
    return value


DATE_HINT = "; a date alone (2026-05-01) means 00:00 UTC that day"


def _no_bool(value: Any) -> Any:
    # Pydantic's lax mode reads true as 1; a boolean is never a count. "20" stays accepted.
    if isinstance(value, bool):
        raise PydanticCustomError("int_not_bool", "must be a whole number, not true/false")
    return value


def listed(item: Any, **field: Any) -> Any:
    """A list argument that also accepts one bare item (see `as_list`)."""
    # Constraints before the validator, or pydantic publishes them as "max_length" instead of "maxItems".
    return Annotated[list[item], Field(**field), BeforeValidator(as_list)]  # type: ignore[valid-type]


def count(**field: Any) -> Any:
    """A whole-number argument that refuses booleans (see `_no_bool`)."""
    return Annotated[int, Field(**field), BeforeValidator(_no_bool)]


IssueId = Annotated[
    str,
    Field(min_length=1, max_length=128, description="ID or number"),
    BeforeValidator(_issue_id),
]

Rfc3339 = Annotated[
    str,
    Field(
        max_length=64,
        description="RFC3339 time, e.g. 2026-05-01T09:30:00Z; a date alone means 00:00 UTC",
        json_schema_extra={"format": "date-time"},
    ),
    BeforeValidator(_date_to_start_of_day),
]

State = Annotated[OneLine, Field(min_length=1, max_length=64, description=f"Issue state: {STATES_TEXT}.")]

Tag = Annotated[OneLine, Field(min_length=1, max_length=100)]
Tags = listed(Tag, max_length=50)
Id = Annotated[OneLine, Field(min_length=1, max_length=128)]
Ids = listed(Id, min_length=1, max_length=50)

_LEAF_OPERATORS = [op for op in ALL_OPERATORS if op not in COMPOUND_OPERATORS]


def _operator_guide() -> str:
    """Fields grouped by their operator set, straight from the spec table."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for field, ops in FIELD_OPERATORS.items():
        groups.setdefault(ops, []).append(field)
    return "; ".join(f"{', '.join(fields)}: {'|'.join(ops)}" for ops, fields in groups.items())


FILTER_GUIDE = (
    "Raw Pylon filter {field, operator, value|values, subfilters}, max 3 levels. Operators by field: "
    f"{_operator_guide()}; custom field slugs: any. in, not_in, time_range take values "
    "(time_range: [start, end]); is_set, is_unset take neither; others take value. and/or take only subfilters."
)


def _operator(allowed: list[str]) -> Any:
    # Accept any string so the grammar check (filters.py) can answer a made-up operator
    # with the operators allowed for that field; advertise the enum so models rarely need it.
    return Annotated[str, WithJsonSchema({"type": "string", "enum": allowed})]


class _FilterBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str | None = None
    value: str | None = None
    values: list[str] | None = None


class FilterLeaf(_FilterBase):
    operator: _operator(_LEAF_OPERATORS)  # type: ignore[valid-type]


class FilterLevel2(_FilterBase):
    operator: _operator(list(ALL_OPERATORS))  # type: ignore[valid-type]
    subfilters: list[FilterLeaf] | None = None


class SearchFilter(_FilterBase):
    """Bounded to 3 levels instead of the spec's recursive `$ref`: some clients reject recursive schemas."""

    operator: _operator(list(ALL_OPERATORS))  # type: ignore[valid-type]
    subfilters: list[FilterLevel2] | None = None


StateList = listed(
    State, min_length=1, max_length=10, description=f"Match any of these states: {STATES_TEXT}."
)
