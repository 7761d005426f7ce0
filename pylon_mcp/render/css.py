"""CSS read with a real tokenizer (tinycss2, linear time): declarations, style blocks, media queries,
lengths with calc(), and var() substitution. Used by `hiding` to decide what a reader would see.

tinycss2 decodes escapes (`dis\\play`), drops comments and reads `!important` as a browser does.
It is imported on first use, off the start-up path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pylon_mcp.render.css_outline import OutlineRule, outline, property_names
from pylon_mcp.render.selectors import Selector, parse_selectors

# The reader this policy models: a desktop mail pane on a light page.
VIEWPORT_WIDTH = 1024.0
VIEWPORT_HEIGHT = 768.0
DEFAULT_FONT_PX = 16.0
_MAX_AT_RULE_DEPTH = 8
_MAX_VAR_DEPTH = 8
_MAX_VAR_TOKENS = 2_000


@dataclass(slots=True)
class Declaration:
    name: str  # lower case, escapes decoded
    value: list[Any]  # tinycss2 component values, comments dropped, ends trimmed
    important: bool


def _trim(tokens: list[Any]) -> list[Any]:
    tokens = [t for t in tokens if t.type != "comment"]
    start, end = 0, len(tokens)
    while start < end and tokens[start].type == "whitespace":
        start += 1
    while end > start and tokens[end - 1].type == "whitespace":
        end -= 1
    return tokens[start:end]


def declarations(text: str | list[Any]) -> list[Declaration]:
    """The declarations of a style attribute or a rule's block, in order (invalid ones skipped)."""
    import tinycss2

    return _declarations(tinycss2.parse_blocks_contents(text, skip_comments=True, skip_whitespace=True))


def _declarations(items: list[Any]) -> list[Declaration]:
    out = []
    for item in items:
        if item.type == "declaration":
            custom = item.name.startswith("--")
            name = item.name if custom else item.lower_name  # custom properties are case-sensitive
            value = _trim(item.value)
            if value or custom:  # `color:` with nothing is invalid: a browser ignores it
                out.append(Declaration(name, value, bool(item.important)))
    return out


MAX_NESTING = 32  # brackets nested deeper than this are no real CSS (and would recurse too deep)
_BRACKET = re.compile(r"[{}()\[\]]")


def nested_deeper_than(css: str, limit: int) -> bool:
    depth = 0
    for m in _BRACKET.finditer(css):
        if m.group() in "{([":
            depth += 1
            if depth > limit:
                return True
        else:
            depth = max(depth - 1, 0)
    return False


# A style attribute that splits on `;` and `:` exactly as the tokenizer would: no escapes, comments,
# strings, blocks other than flat parentheses (rgb(0, 0, 0)), and `!` only in `!important`.
_PLAIN_STYLE = re.compile(r"[^\\/\"'{}\[\]@]*+")
_FLAT_PARENS = re.compile(r"\([^();]*+\)")
_IMPORTANT = re.compile(r"\s*+!\s*+important\s*+$", re.IGNORECASE)
_NAME = re.compile(r"-?-?[a-zA-Z_][\w-]*+", re.ASCII)


# Stands for a style attribute too deeply nested to read: not on the allowlist, so the element is suspect.
UNREADABLE = Declaration("-pylon-unreadable-style", [], False)


class ParseCache:
    """Per body: style attributes and values already parsed, and how many characters were tokenized
    (`charge` is called with that count, and may raise to stop the work)."""

    def __init__(self, charge: Callable[[int], None]) -> None:
        self.styles: dict[str, list[Declaration]] = {}
        self.values: dict[str, list[Any]] = {}
        self.charge = charge

    def style(self, style: str, relevant_name: Callable[[str], bool]) -> list[Declaration]:
        found = self.styles.get(style)
        if found is None:
            found = self.styles[style] = self._parse_style(style, relevant_name)
        return found

    def _parse_style(self, style: str, relevant_name: Callable[[str], bool]) -> list[Declaration]:
        if (
            not _PLAIN_STYLE.fullmatch(style)
            or "(" in _FLAT_PARENS.sub("", style)
            or ")" in _FLAT_PARENS.sub("", style)
        ):
            self.charge(len(style))
            if nested_deeper_than(style, MAX_NESTING):
                return [UNREADABLE]
            return [d for d in declarations(style) if relevant_name(d.name)]
        out = []
        for item in style.split(";"):
            name, sep, value = item.partition(":")
            name = name.strip()
            if not sep:
                continue  # `color red` or nothing: the tokenizer skips it too
            if not _NAME.fullmatch(name):
                self.charge(len(style))
                return [d for d in declarations(style) if relevant_name(d.name)]
            important = _IMPORTANT.search(value)
            if important:
                value = value[: important.start()]
            if "!" in value:
                self.charge(len(style))
                return [d for d in declarations(style) if relevant_name(d.name)]
            value = value.strip()
            custom = name.startswith("--")
            name = name if custom else name.lower()
            if not value and not custom:
                continue
            if not relevant_name(name):
                continue  # cannot change what is visible: not even tokenized
            out.append(Declaration(name, self.value(value), important is not None))
        return out

    def value(self, value: str) -> list[Any]:
        tokens = self.values.get(value)
        if tokens is None:
            import tinycss2

            self.charge(len(value))
            tokens = self.values[value] = _trim(tinycss2.parse_component_value_list(value))
        return tokens


def words(tokens: list[Any]) -> list[Any]:
    """The tokens without whitespace."""
    return [t for t in tokens if t.type != "whitespace"]


def keyword(tokens: list[Any]) -> str | None:
    """The lower-case identifier when the value is exactly one, else None."""
    found = words(tokens)
    if len(found) == 1 and found[0].type == "ident":
        return str(found[0].lower_value)
    return None


@dataclass(slots=True)
class Rule:
    selector: Selector
    order: int
    declarations: list[Declaration]


@dataclass(slots=True)
class Stylesheet:
    """Rules that matter for visibility, indexed by the key of their rightmost compound selector."""

    by_key: dict[tuple[str, str], list[Rule]] = field(default_factory=dict)
    rules: int = 0
    attribute_names: set[str] = field(default_factory=set)  # tested by attribute selectors

    def __bool__(self) -> bool:
        return bool(self.by_key)

    def candidates(self, tag: str, id_: str, classes: frozenset[str]) -> list[Rule]:
        found = list(self.by_key.get(("any", ""), ()))
        found += self.by_key.get(("tag", tag), ())
        if id_:
            found += self.by_key.get(("id", id_), ())
        for name in classes:
            found += self.by_key.get(("class", name), ())
        return found


_AT_KEYWORD = re.compile(r"@(-?[a-zA-Z_][\w-]*+)", re.ASCII)
# At-rules whose block holds rules that apply (conditions aside).
_GROUPING_AT_RULES = frozenset(
    {"media", "supports", "layer", "container", "document", "-moz-document", "scope"}
)


def parse_stylesheet(
    css_blocks: list[str], relevant: Callable[[Declaration], bool], relevant_name: Callable[[str], bool]
) -> Stylesheet:
    """Every rule a desktop reader's mail client would apply, keeping only declarations `relevant`
    says can change what is visible (so ordinary styling costs nothing later)."""
    import tinycss2

    sheet = Stylesheet()
    order = 0

    def add(rules: list[Any], depth: int) -> None:
        nonlocal order
        for rule in rules:
            if rule.type == "qualified-rule":
                items = tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True)
                found = [d for d in _declarations(items) if relevant(d)]
                if found:
                    add_qualified(rule.prelude, found)
                # CSS nesting (`.a { .b { … } }`): a nested rule is read on its own, without its
                # parent's condition (`&` dropped), so it applies to every element it could.
                nested = [item for item in items if item.type == "qualified-rule"]
                if nested and depth < _MAX_AT_RULE_DEPTH:
                    for item in nested:
                        item.prelude = [
                            t for t in item.prelude if not (t.type == "literal" and t.value == "&")
                        ]
                    add(nested, depth + 1)
            elif rule.type == "at-rule" and rule.content is not None and depth < _MAX_AT_RULE_DEPTH:
                name = rule.lower_at_keyword
                if name == "media" and not media_applies(rule.prelude):
                    continue
                if name in _GROUPING_AT_RULES:
                    add(
                        tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True),
                        depth + 1,
                    )
                # @font-face, @keyframes, @page and unknown at-rules style no element's text

    def add_qualified(prelude: list[Any], found: list[Declaration]) -> None:
        nonlocal order
        for selector in parse_selectors(prelude):
            order += 1
            for part in selector.parts:
                sheet.attribute_names.update(part.attributes)
            sheet.by_key.setdefault(selector.key, []).append(Rule(selector, order, found))
            sheet.rules += 1

    def add_outline(rules: list[OutlineRule], depth: int) -> None:
        """Rules found by the C-speed outline: only preludes and blocks that matter are tokenized."""
        for rule in rules:
            if rule.block is None:
                continue
            if rule.prelude.startswith("@"):
                keyword = _AT_KEYWORD.match(rule.prelude)
                name = keyword.group(1).lower() if keyword else ""
                condition = rule.prelude[keyword.end() :] if keyword else ""
                if depth >= _MAX_AT_RULE_DEPTH or name not in _GROUPING_AT_RULES:
                    continue  # @font-face, @keyframes, @page and unknown at-rules style no element's text
                if name == "media" and not media_applies(tinycss2.parse_component_value_list(condition)):
                    continue
                inner = outline(rule.block)
                if inner is None:
                    add(
                        tinycss2.parse_rule_list(rule.block, skip_comments=True, skip_whitespace=True),
                        depth + 1,
                    )
                else:
                    add_outline(inner, depth + 1)
                continue
            if "{" in rule.block:  # nested rules: tinycss2 reads this one
                add(tinycss2.parse_stylesheet(f"{rule.prelude}{{{rule.block}}}", skip_comments=True), depth)
                continue
            names = property_names(rule.block)
            if names is not None and not any(map(relevant_name, names)):
                continue  # only neutral properties: not even tokenized
            # Plain blocks are split like style attributes: only relevant values are tokenized.
            found = [d for d in blocks.style(rule.block, relevant_name) if relevant(d)]
            if found:
                add_qualified(tinycss2.parse_component_value_list(rule.prelude), found)

    blocks = ParseCache(lambda _chars: None)  # the token budget was checked before
    for block in css_blocks:
        rules = outline(block)
        if rules is None:
            add(tinycss2.parse_stylesheet(block, skip_comments=True, skip_whitespace=True), 0)
        else:
            add_outline(rules, 0)
    return sheet


# --- media queries --------------------------------------------------------------------

_MEDIA_TYPES_SHOWN = frozenset({"all", "screen"})
_KNOWN_MEDIA_TYPES = frozenset({"print", "speech", "tv", "projection", "handheld", "braille", "embossed",
                                "aural", "tty"})  # fmt: skip


def media_applies(prelude: list[Any]) -> bool:
    """Whether a media query list matches the modelled desktop reader; what cannot be read applies."""
    queries: list[list[Any]] = [[]]
    for token in prelude:
        if token.type == "literal" and token.value == ",":
            queries.append([])
        elif token.type not in ("whitespace", "comment"):
            queries[-1].append(token)
    return any(_query_applies(q) for q in queries if q) or not any(queries)


def _query_applies(tokens: list[Any]) -> bool:
    negate = False
    if tokens and tokens[0].type == "ident" and tokens[0].lower_value in ("not", "only"):
        negate = tokens[0].lower_value == "not"
        tokens = tokens[1:]
    result: bool | None = True
    for token in tokens:
        if token.type == "ident":
            name = token.lower_value
            if name == "and":
                continue
            if name in _MEDIA_TYPES_SHOWN:
                continue
            if name in _KNOWN_MEDIA_TYPES:
                result = False
                continue
            return True  # `or`, `not` inside, unknown types: assume it applies
        elif token.type == "() block":
            feature = _feature_applies(token.content)
            if feature is None:
                return True
            result = result and feature
        else:
            return True
    return not result if negate else bool(result)


def _feature_applies(content: list[Any]) -> bool | None:
    tokens = words([t for t in content if t.type != "comment"])
    if len(tokens) == 1 and tokens[0].type == "ident":
        return tokens[0].lower_value in ("color", "hover", "pointer", "any-hover", "any-pointer", "grid") or (
            tokens[0].lower_value in ("width", "height", "device-width", "device-height")
        )
    if (
        len(tokens) >= 3
        and tokens[0].type == "ident"
        and tokens[1].type == "literal"
        and tokens[1].value == ":"
    ):
        return _feature_value(tokens[0].lower_value, tokens[2:])
    if len(tokens) >= 3 and tokens[0].type == "ident" and tokens[1].type == "literal":
        # range syntax: (width <= 600px), (width < 600px)
        op = "".join(t.value for t in tokens[1:] if t.type == "literal")
        value = length_px([t for t in tokens[1:] if t.type != "literal"], 16, 0)
        actual = _feature_number(tokens[0].lower_value)
        if value is None or actual is None:
            return None
        return {"<": actual < value, "<=": actual <= value, ">": actual > value, ">=": actual >= value,
                "=": actual == value}.get(op)  # fmt: skip
    return None


def _feature_number(name: str) -> float | None:
    base = name.removeprefix("-webkit-").removeprefix("min-").removeprefix("max-")
    base = base.removeprefix("-webkit-").removeprefix("device-")
    if base == "width":
        return VIEWPORT_WIDTH
    if base == "height":
        return VIEWPORT_HEIGHT
    if base in ("pixel-ratio", "resolution"):
        return 1.0
    return None


def _feature_value(name: str, value: list[Any]) -> bool | None:
    word = keyword(value)
    if name == "prefers-color-scheme":
        return word == "light" if word else None
    if name == "orientation":
        return word == "landscape" if word else None
    if name in ("prefers-reduced-motion", "prefers-contrast", "forced-colors", "inverted-colors"):
        return word in ("no-preference", "none") if word else None
    if name in ("hover", "any-hover"):
        return word == "hover" if word else None
    if name in ("pointer", "any-pointer"):
        return word == "fine" if word else None
    actual = _feature_number(name)
    if actual is None:
        return None
    if (
        value
        and value[0].type in ("number", "dimension")
        and getattr(value[0], "unit", "")
        in (
            "dppx",
            "x",
            "dpi",
        )
    ):
        number = float(value[0].value) / (96 if value[0].unit == "dpi" else 1)
    elif len(value) == 1 and value[0].type == "number":
        number = float(value[0].value)
    else:
        parsed = length_px(value, 16, 0)
        if parsed is None:
            return None
        number = parsed
    bare = name.removeprefix("-webkit-")
    if bare.startswith("min-"):
        return actual >= number
    if bare.startswith("max-"):
        return actual <= number
    return actual == number


# --- lengths --------------------------------------------------------------------------

_ABSOLUTE = {"px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 37.8, "mm": 3.78, "q": 0.945}
_VIEWPORT = {"vw": VIEWPORT_WIDTH / 100, "vh": VIEWPORT_HEIGHT / 100, "vmin": VIEWPORT_HEIGHT / 100,
             "vmax": VIEWPORT_WIDTH / 100, "svw": VIEWPORT_WIDTH / 100, "lvw": VIEWPORT_WIDTH / 100,
             "dvw": VIEWPORT_WIDTH / 100, "svh": VIEWPORT_HEIGHT / 100, "lvh": VIEWPORT_HEIGHT / 100,
             "dvh": VIEWPORT_HEIGHT / 100, "cqw": VIEWPORT_WIDTH / 100, "cqh": VIEWPORT_HEIGHT / 100}  # fmt: skip


def _unit_px(unit: str, em: float) -> float | None:
    unit = unit.lower()
    if unit in _ABSOLUTE:
        return _ABSOLUTE[unit]
    if unit in ("em", "lh"):
        return em
    if unit in ("rem", "rlh"):
        return DEFAULT_FONT_PX
    if unit in ("ex", "ch", "cap", "ic"):
        return em / 2
    return _VIEWPORT.get(unit)


def length_px(tokens: list[Any], em: float, percent_of: float) -> float | None:
    """A length (or calc()/min()/max()/clamp() of lengths) in CSS pixels; None when not one.
    A bare number counts as pixels only when it is 0."""
    found = words(tokens)
    if len(found) != 1:
        return None
    return _number(found[0], em, percent_of, unitless=False)


def _number(token: Any, em: float, percent_of: float, unitless: bool) -> float | None:
    kind = token.type
    if kind == "dimension":
        factor = _unit_px(token.unit, em)
        return None if factor is None else float(token.value) * factor
    if kind == "percentage":
        return float(token.value) * percent_of / 100
    if kind == "number":
        return float(token.value) if (unitless or token.value == 0) else None
    if kind == "function" and token.lower_name in (
        "calc",
        "-webkit-calc",
        "-moz-calc",
        "min",
        "max",
        "clamp",
    ):
        args = _split_commas(token.arguments)
        values = [_calc(a, em, percent_of) for a in args]
        if any(v is None for v in values) or not values:
            return None
        numbers = [v for v in values if v is not None]
        name = token.lower_name
        if name == "min":
            return min(numbers)
        if name == "max":
            return max(numbers)
        if name == "clamp":
            return max(numbers[0], min(numbers[1], numbers[2])) if len(numbers) == 3 else None
        return numbers[0] if len(numbers) == 1 else None
    if kind == "() block":
        return _calc(token.content, em, percent_of)
    return None


def _split_commas(tokens: list[Any]) -> list[list[Any]]:
    parts: list[list[Any]] = [[]]
    for t in tokens:
        if t.type == "literal" and t.value == ",":
            parts.append([])
        else:
            parts[-1].append(t)
    return parts


def _calc(tokens: list[Any], em: float, percent_of: float) -> float | None:
    """A calc() sum: terms joined by + and -, each a product of numbers and lengths (* and /)."""
    items = [t for t in tokens if t.type not in ("whitespace", "comment")]
    total, sign, product, op = 0.0, 1.0, None, "*"
    for t in [*items, None]:
        if t is None or (t.type == "literal" and t.value in "+-" and product is not None):
            if product is None:
                return None
            total += sign * product
            if t is None:
                break
            sign, product, op = (1.0 if t.value == "+" else -1.0), None, "*"
            continue
        if t.type == "literal" and t.value in "*/":
            op = t.value
            continue
        value = _number(t, em, percent_of, unitless=True)
        if value is None:
            return None
        if product is None:
            product = value
        elif op == "*":
            product *= value
        elif value == 0:
            return None
        else:
            product /= value
    return total if math.isfinite(total) else None


def number(tokens: list[Any]) -> float | None:
    """A plain number or percentage (as a fraction), for opacity, scale and zoom."""
    found = words(tokens)
    if len(found) != 1:
        return None
    t = found[0]
    if t.type == "number":
        return float(t.value)
    if t.type == "percentage":
        return float(t.value) / 100
    if t.type == "function" and t.lower_name in ("calc", "min", "max", "clamp"):
        return _number(t, 0, 100, unitless=True)
    return None


# --- var() ----------------------------------------------------------------------------


def has_var(tokens: list[Any]) -> bool:
    for t in tokens:
        if t.type == "function":
            if t.lower_name == "var" or has_var(t.arguments):
                return True
        elif t.type in ("() block", "[] block", "{} block") and has_var(t.content):
            return True
    return False


def substitute(tokens: list[Any], custom: dict[str, list[Any]], depth: int = 0) -> list[Any] | None:
    """The value with every var() replaced (fallbacks used); None when one cannot be resolved, which a
    browser treats as `unset`. Depth and size are bounded: nested var()s cannot blow up."""
    if depth > _MAX_VAR_DEPTH:
        return None
    out: list[Any] = []
    for t in tokens:
        if t.type == "function" and t.lower_name == "var":
            args = _split_commas(t.arguments)
            name = keyword_raw(args[0])
            replacement = custom.get(name) if name else None
            if replacement is None and len(args) > 1:
                replacement = [tok for part in _rejoin(args[1:]) for tok in part]
            if replacement is None:
                return None
            resolved = substitute(replacement, custom, depth + 1)
            if resolved is None:
                return None
            out.extend(resolved)
        elif t.type == "function" and has_var(t.arguments):
            import tinycss2.ast

            inner = substitute(t.arguments, custom, depth + 1)
            if inner is None:
                return None
            out.append(tinycss2.ast.FunctionBlock(t.source_line, t.source_column, t.name, inner))
        else:
            out.append(t)
        if len(out) > _MAX_VAR_TOKENS:
            return None
    return out


def _rejoin(parts: list[list[Any]]) -> list[list[Any]]:
    import tinycss2.ast

    out: list[list[Any]] = []
    for i, part in enumerate(parts):
        if i:
            out.append([tinycss2.ast.LiteralToken(0, 0, ",")])
        out.append(part)
    return out


def keyword_raw(tokens: list[Any]) -> str | None:
    """A custom property's name as written (`--Brand` and `--brand` differ)."""
    found = words(tokens)
    if len(found) == 1 and found[0].type == "ident":
        return str(found[0].value)
    return None
