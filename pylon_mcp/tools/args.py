"""Argument types shared by the tools: names are Pylon's field names, descriptions are for a model.

Pydantic validates them before a tool body runs, so a bad argument never
reaches Pylon; `server.py` turns pydantic's errors into one line per field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from pylon_mcp.pylon.filters import ALL_OPERATORS, COMPOUND_OPERATORS, FIELD_OPERATORS
from pylon_mcp.pylon.models import BASE_STATES
from pylon_mcp.tools.oneline import OneLine


def _int_to_str(value: Any) -> Any:
    # Models often send an issue number as a JSON number.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _to_list(value: Any) -> Any:
    # "new" is as natural as ["new"] for a one-item list.
    return [value] if isinstance(value, str) else value


STATES_TEXT = ", ".join(BASE_STATES) + ", or a custom status slug"

IssueId = Annotated[
    str,
    BeforeValidator(_int_to_str),
    Field(min_length=1, max_length=128, description='The issue ID or its number, e.g. "42".'),
]

Rfc3339 = Annotated[
    str,
    Field(
        max_length=64,
        description="RFC3339 time, e.g. 2026-05-01T09:30:00Z",
        json_schema_extra={"format": "date-time"},
    ),
]

State = Annotated[OneLine, Field(min_length=1, max_length=64, description=f"Issue state: {STATES_TEXT}.")]

Tag = Annotated[OneLine, Field(min_length=1, max_length=100)]
Tags = Annotated[list[Tag], Field(max_length=50)]
Id = Annotated[OneLine, Field(min_length=1, max_length=128)]
Ids = Annotated[list[Id], Field(min_length=1, max_length=50)]

Priority = Literal["urgent", "high", "medium", "low"]

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


StateList = Annotated[
    list[State],
    BeforeValidator(_to_list),
    Field(min_length=1, max_length=10, description=f"Match any of these states: {STATES_TEXT}."),
]
