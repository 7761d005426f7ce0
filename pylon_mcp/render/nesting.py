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
# A tag as HTML's tokenizer reads it: the name, then attributes (a name that may start with
# anything but space, / or >; optionally = and a quoted or bare value), up to the first > outside a
# quoted value. Every quantifier is possessive, and the scan stops at the last > of the text (see
# tag_region): without both, text full of unclosed `<a ` took quadratic time (45 s for 60 KB).
_ATTRIBUTES = r"(?:[\s/]*+[^\s/>][^\s/>=]*+(?:\s*+=\s*+(?:\"[^\"]*+\"|'[^']*+'|[^\s>]++))?+)*+[\s/]*+"
TAG_TOKEN = re.compile(r"<!--.*?(?:-->|\Z)|<(/?)([a-zA-Z][^\s/>]*+)(" + _ATTRIBUTES + r")>", re.DOTALL)


def tag_region(html: str) -> int:
    """Where tags can still end: past the last `>` nothing is a complete tag, and stopping the scan
    there means every start tag the pattern meets has a `>` after it, so none is scanned twice."""
    return html.rfind(">") + 1


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
    for m in TAG_TOKEN.finditer(html, 0, tag_region(html)):
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
        if name in _VOID or m.group(3).endswith("/"):
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
