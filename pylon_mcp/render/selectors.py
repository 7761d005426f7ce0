"""CSS selectors, read from tinycss2 tokens and matched conservatively against an element's ancestors.

What is evaluated exactly: type, universal, `.class` and `#id` selectors, and the descendant
(` `) and child (`>`) combinators. An attribute selector whose attribute name appears nowhere in
the raw HTML outside the style blocks never matches (`[data-ogsc]`, `[x-apple-data-detectors]`:
attributes mail clients add in dark mode or on phones); any other is assumed to match. What else
cannot be known from the sanitised HTML is assumed to match ("could match"): structural and functional pseudo-classes
(`:first-child`, `:nth-child()`, `:not()`, `:is()`, `:has()`…), `::first-line`/`::first-letter`,
and the left side of sibling combinators (`+`, `~`). So a rule is applied to every element it
could apply to, never to fewer. Two things never match on a page as first shown: user-action
states (`:hover`, `:focus`, `:active`, `:visited`…) and pseudo-elements that style other text
than the element's own (`::before`, `::after`, `::selection`, `::placeholder`…). A selector this
module cannot read is taken to match every element.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A state a reader's first look never has: rules needing it never apply.
_USER_ACTION = frozenset({"hover", "focus", "active", "visited", "focus-within", "focus-visible", "target",
                          "checked", "indeterminate", "placeholder-shown", "autofill", "-webkit-autofill",
                          "user-invalid", "open", "popover-open", "modal", "fullscreen"})  # fmt: skip
# Pseudo-elements that style the element's own text; every other one styles generated or other text.
_OWN_TEXT_PSEUDO_ELEMENTS = frozenset({"first-line", "first-letter"})


@dataclass(slots=True)
class Compound:
    tag: str | None = None  # None: any element
    ids: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    never: bool = False  # needs a user action or styles other text
    attributes: list[str] = field(default_factory=list)  # names tested by attribute selectors

    def matches(self, tag: str, id_: str, classes: frozenset[str], absent: frozenset[str]) -> bool:
        if self.never or (self.tag is not None and self.tag != tag):
            return False
        if self.attributes and not absent.isdisjoint(self.attributes):
            return False
        return all(i == id_ for i in self.ids) and all(c in classes for c in self.classes)


@dataclass(slots=True)
class Selector:
    # Right to left: parts[0] is the element's own compound; combinators[i] joins parts[i] to parts[i + 1].
    parts: list[Compound]
    combinators: list[str]
    specificity: tuple[int, int, int]

    @property
    def key(self) -> tuple[str, str]:
        """Where the rule is indexed: ("id", x), ("class", x), ("tag", x) or ("any", "")."""
        own = self.parts[0]
        if own.ids:
            return ("id", own.ids[0])
        if own.classes:
            return ("class", own.classes[0])
        if own.tag:
            return ("tag", own.tag)
        return ("any", "")

    def matches(self, chain: list[tuple[str, str, frozenset[str]]], absent: frozenset[str]) -> bool:
        """Whether the selector could match the last element of `chain` (its ancestors before it)."""
        if not self.parts[0].matches(*chain[-1], absent):
            return False
        # Where in the chain parts[i] can sit, given parts[:i] matched: found right to left, each
        # step linear in the chain's length (a descendant step needs only the deepest position).
        positions = {len(chain) - 1}
        for i in range(1, len(self.parts)):
            combinator, part = self.combinators[i - 1], self.parts[i]
            if part.never:
                return False
            if combinator in ("+", "~"):  # a sibling: assumed to match, with the same parent
                continue
            if combinator == ">":
                positions = {j - 1 for j in positions if j > 0 and part.matches(*chain[j - 1], absent)}
            else:
                deepest = max(positions)
                positions = {k for k in range(deepest) if part.matches(*chain[k], absent)}
            if not positions:
                return False
        return True


MAX_COMPOUNDS = 12
_ANY = Selector([Compound()], [], (0, 0, 0))


def parse_selectors(prelude: list[Any]) -> list[Selector]:
    """A rule's selector list; an unreadable selector becomes one that matches everything."""
    groups: list[list[Any]] = [[]]
    for token in prelude:
        if token.type == "literal" and token.value == ",":
            groups.append([])
        elif token.type != "comment":
            groups[-1].append(token)
    out = []
    for group in groups:
        parsed = _parse_one(group)
        out.append(parsed if parsed is not None else _ANY)
    return out


def _parse_one(tokens: list[Any]) -> Selector | None:
    while tokens and tokens[0].type == "whitespace":
        tokens = tokens[1:]
    while tokens and tokens[-1].type == "whitespace":
        tokens = tokens[:-1]
    if not tokens:
        return None
    compounds: list[Compound] = [Compound()]
    combinators: list[str] = []
    ids = classes = tags = 0
    pending: str | None = None  # a combinator read, waiting for its right-hand compound
    empty = True
    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind = token.type
        if kind == "whitespace":
            pending = pending or " "
            i += 1
            continue
        if kind == "literal" and token.value in (">", "+", "~"):
            if empty:
                return None
            pending = token.value
            i += 1
            continue
        if pending is not None:
            if empty:
                return None
            compounds.append(Compound())
            combinators.append(pending)
            pending, empty = None, True
        current = compounds[-1]
        if kind == "ident":
            current.tag, tags, empty = token.lower_value, tags + 1, False
        elif kind == "literal" and token.value == "*":
            empty = False
        elif kind == "hash":
            current.ids.append(token.value.lower())
            ids, empty = ids + 1, False
        elif (
            kind == "literal" and token.value == "." and i + 1 < len(tokens) and tokens[i + 1].type == "ident"
        ):
            current.classes.append(tokens[i + 1].value.lower())
            classes, empty = classes + 1, False
            i += 1
        elif kind == "[] block":
            classes, empty = classes + 1, False
            names = [t for t in token.content if t.type == "ident"]
            if names:
                current.attributes.append(names[0].lower_value)
        elif kind == "literal" and token.value in (":", "::"):
            element = token.value == "::"
            if i + 1 < len(tokens) and tokens[i + 1].type == "literal" and tokens[i + 1].value == ":":
                element, i = True, i + 1
            if i + 1 >= len(tokens) or tokens[i + 1].type not in ("ident", "function"):
                return None
            pseudo = tokens[i + 1]
            name = pseudo.lower_value if pseudo.type == "ident" else pseudo.lower_name
            i += 1
            if pseudo.type == "ident" and name in ("before", "after") and not element:
                element = True  # the legacy one-colon spelling
            if element:
                tags += 1
                if name not in _OWN_TEXT_PSEUDO_ELEMENTS:
                    current.never = True
            elif name == "where":
                pass
            else:
                classes += 1
                if name in _USER_ACTION:
                    current.never = True
            empty = False
        elif kind == "literal" and token.value == "|":
            empty = False  # a namespace prefix: the element name after it is read as usual
        else:
            return None
        i += 1
    if empty or pending not in (None, " "):
        return None
    compounds.reverse()
    combinators.reverse()
    # Compounds far to the left are assumed to match: matching stays cheap whatever the selector's length.
    del compounds[MAX_COMPOUNDS:], combinators[MAX_COMPOUNDS - 1 :]
    return Selector(compounds, combinators, (ids, classes, tags))
