"""A linear guard against absurdly deep HTML, run before any HTML parser sees the text.

html5ever (inside nh3) and the Markdown converter take time that grows much faster than
the input once elements nest tens of thousands deep: 512 KB of nested `<ul><li>` took ~50 s in
each. This scan approximates the parser's open-element stack (implied end tags for p, li,
td, option…, end tags matched near the top only) and cuts every subtree that starts
deeper than the limit. Cutting is the safe direction: text inside a cut subtree is never
shown, so a hidden ancestor can never be skipped and its content revealed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_DEPTH = 1000
_TOKEN = re.compile(r"<!--.*?(?:-->|\Z)|<(/?)([a-zA-Z][^\s/>]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.DOTALL)
_VOID = frozenset({"br", "hr", "img", "wbr", "input", "meta", "link", "col", "source", "area", "base", "embed",
                   "track", "param", "keygen"})  # fmt: skip
# An opening tag of the key closes an open element named in the value (HTML's implied end tags).
_IMPLIED = {
    "li": {"li"}, "dt": {"dt", "dd"}, "dd": {"dt", "dd"}, "option": {"option"}, "tr": {"tr", "td", "th"},
    "td": {"td", "th"}, "th": {"td", "th"}, "p": {"p"}, "div": {"p"}, "ul": {"p"}, "ol": {"p"},
    "table": {"p"}, "h1": {"p"}, "h2": {"p"}, "h3": {"p"}, "blockquote": {"p"}, "pre": {"p"},
}  # fmt: skip
_MATCH_WINDOW = 8  # how far below the top an end tag may close; beyond it, it is ignored


@dataclass(frozen=True, slots=True)
class Guarded:
    html: str
    removed_chars: int  # characters of HTML left out because they nest deeper than the limit


def limit_nesting(html: str, max_depth: int = MAX_DEPTH) -> Guarded:
    stack: list[str] = []
    parts: list[str] = []
    position = 0
    cut_from: int | None = None
    cut_depth = 0
    removed = 0
    for m in _TOKEN.finditer(html):
        name = m.group(2)
        if name is None:  # a comment
            continue
        name = name.lower()
        if m.group(1):  # an end tag
            low = max(-1, len(stack) - 1 - _MATCH_WINDOW)
            for i in range(len(stack) - 1, low, -1):
                if stack[i] == name:
                    del stack[i:]
                    break
            if cut_from is not None and len(stack) < cut_depth:
                parts.append(html[position:cut_from])
                removed += m.end() - cut_from
                position, cut_from = m.end(), None
            continue
        if name in _VOID or m.group(3).rstrip().endswith("/"):
            continue
        closes = _IMPLIED.get(name)
        if closes and stack and stack[-1] in closes:
            stack.pop()
        stack.append(name)
        if cut_from is None and len(stack) > max_depth:
            cut_from, cut_depth = m.start(), len(stack)
    if cut_from is not None:
        parts.append(html[position:cut_from])
        removed += len(html) - cut_from
    else:
        parts.append(html[position:])
    return Guarded("".join(parts) if removed else html, removed)


def nesting_depth(html: str) -> int:
    """The deepest element nesting the guard sees (for messages and tests)."""
    deepest, stack = 0, 0
    for m in _TOKEN.finditer(html):
        if m.group(2) is None or m.group(2).lower() in _VOID:
            continue
        stack = max(0, stack - 1) if m.group(1) else stack + 1
        deepest = max(deepest, stack)
    return deepest
