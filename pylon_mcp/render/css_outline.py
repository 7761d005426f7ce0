"""A stylesheet's top-level rules found at C speed, so that only the rules that matter are tokenized.

tinycss2 tokenizes every character in pure Python (about 1-2 µs each, holding the GIL), yet most of an
email's stylesheet is mobile `@media` blocks, fonts and padding that cannot hide anything. This scan
splits the text into (prelude, block) pairs the way CSS's parser nests blocks — strings, comments and
`()`/`[]`/`{}` matched on one stack — with one regex match per run of ordinary characters; callers then
tokenize only preludes and blocks that can change what is visible. Anything unusual (a backslash
escape anywhere) returns None, and the caller parses the whole stylesheet with tinycss2 instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A comment, a string (ending at its quote, a newline or the end), a bracket, `;`, a run of anything else.
_CHUNK = re.compile(
    r"/\*.*?(?:\*/|\Z)"
    r"|\"[^\"\n]*+(?:\"|(?=\n)|\Z)"
    r"|'[^'\n]*+(?:'|(?=\n)|\Z)"
    r"|[{}()\[\];]"
    r"|[^{}()\[\];\"'/]++"
    r"|/",
    re.DOTALL,
)
_CLOSES = {"}": "{", ")": "(", "]": "["}
# What CSS skips between top-level rules: whitespace, comments and the HTML comment markers.
_BETWEEN_RULES = re.compile(r"(?:\s++|/\*.*?(?:\*/|\Z)|<!--|-->)*+", re.DOTALL)


@dataclass(frozen=True, slots=True)
class OutlineRule:
    prelude: str  # the selector list, or `@media screen` and the like
    block: str | None  # the text between the braces; None for `@import …;`


def outline(css: str) -> list[OutlineRule] | None:
    """The top-level rules of `css`, or None when it holds escapes (then tinycss2 reads it all)."""
    if "\\" in css:
        return None
    rules: list[OutlineRule] = []
    stack: list[str] = []
    prelude_start = 0
    block_start = -1
    for m in _CHUNK.finditer(css):
        chunk = m.group()
        if chunk in ("{", "(", "["):
            if not stack and chunk == "{":
                block_start = m.end()
            stack.append(chunk)
        elif chunk in _CLOSES:
            if stack and stack[-1] == _CLOSES[chunk]:
                stack.pop()
                if not stack and chunk == "}" and block_start >= 0:
                    rules.append(
                        OutlineRule(
                            _prelude(css, prelude_start, block_start - 1), css[block_start : m.start()]
                        )
                    )
                    prelude_start, block_start = m.end(), -1
        elif chunk == ";" and not stack:
            prelude = _prelude(css, prelude_start, m.start())
            if prelude.startswith("@"):  # an at-rule without a block ends here
                rules.append(OutlineRule(prelude, None))
                prelude_start = m.end()
    if block_start >= 0:  # a block left open runs to the end, as in CSS
        rules.append(OutlineRule(_prelude(css, prelude_start, block_start - 1), css[block_start:]))
    return rules


def _prelude(css: str, start: int, end: int) -> str:
    skipped = _BETWEEN_RULES.match(css, start, end)
    return css[skipped.end() if skipped else start : end].strip()


_STRING = re.compile(r"\"[^\"\n]*+(?:\"|(?=\n)|\Z)|'[^'\n]*+(?:'|(?=\n)|\Z)")
_FLAT_PARENS = re.compile(r"\([^();{}\[\]]*+\)")
_NAME = re.compile(r"\s*+(-?-?[a-zA-Z_][\w-]*+)\s*+:", re.ASCII)


def property_names(block: str) -> list[str] | None:
    """The property names a declaration block sets, when that can be told without tokenizing it
    (no comments, nested blocks or unbalanced brackets); None otherwise."""
    if "/*" in block or "{" in block or "}" in block:
        return None
    flat = _FLAT_PARENS.sub("()", _STRING.sub('""', block))
    if "(" in flat.replace("()", "") or ")" in flat.replace("()", "") or "[" in flat or "]" in flat:
        return None
    names = []
    for item in flat.split(";"):
        if not item.strip():
            continue
        m = _NAME.match(item)
        if m is None:
            return None
        names.append(m.group(1) if m.group(1).startswith("--") else m.group(1).lower())
    return names
