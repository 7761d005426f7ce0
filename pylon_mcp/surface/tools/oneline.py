"""Validators for one-line arguments (tags, emails, titles, IDs, states).

A newline or other control character in such a value would let one session plant a line
that later reads like server text in every other session's output (issue 14, item 22).
Refused before any request, with the field named by the server's validation message.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from pylon_mcp.render.text import line_breaking_character

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def one_line(value: str) -> str:
    found = line_breaking_character(value)
    if found is not None:
        raise ValueError(
            f"must be a single line: {found} at position {value.find(chr(int(found[2:], 16)))} is a control "
            "or line-breaking character (newline, tab, escape, bidi override…); remove it"
        )
    return value


def email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("is not an email address (expected name@domain.tld, no spaces)")
    return value


OneLine = Annotated[str, AfterValidator(one_line)]
Email = Annotated[str, AfterValidator(one_line), AfterValidator(email)]
