"""The allowlist: which CSS leaves an element's text visible. Anything else makes it suspect.

`Look` is what text inside an element looks like after the cascade: whether its box is shown at
all, its visibility, ink (colour or -webkit-text-fill-color), font size after transforms and
zoom, opacity, and the opaque background beneath it. `apply` turns one element's cascaded
declarations into its Look; `Look.text_visible` decides a text run. The exact policy is in
docs/hiding-policy.md; keep the two in step.
"""

from __future__ import annotations

import math
from typing import Any

from pylon_mcp.render.colors import BLACK, CURRENT, RGBA, WHITE, contrast, over, parse_color
from pylon_mcp.render.css import DEFAULT_FONT_PX, Declaration, keyword, length_px, number, words

MIN_CONTRAST = 1.5  # WCAG ratio of text to its background; #d3d3d3 on white is 1.5, #999 is 2.8
MIN_FONT_PX = 6.0  # after zoom and scale transforms
MIN_SCALE = 0.3  # smallest factor of scale()/zoom that is not a hiding trick on its own
OFFSET_RANGE = (-100.0, 600.0)  # px: positions, margins, text-indent, translations kept on the page
PERCENT_OF_WIDTH = 6.0  # px per % of a horizontal offset (a 600 px email column)
LINK_BLUE: RGBA = (0.0, 0.0, 238 / 255, 1.0)  # a browser's default link colour

_WIDE = frozenset({"inherit", "initial", "unset", "revert", "revert-layer"})
_DISPLAY_SHOWN = frozenset({"block", "inline", "inline-block", "flex", "inline-flex", "grid", "inline-grid",
    "table", "inline-table", "table-row", "table-cell", "table-row-group", "table-header-group",
    "table-footer-group", "table-column", "table-column-group", "table-caption", "list-item", "flow-root",
    "contents", "run-in", "ruby", "ruby-text", "-webkit-box", "-webkit-inline-box", "-ms-flexbox",
    "-webkit-flex", "block flow", "inline flow", "flow"})  # fmt: skip
_FONT_KEYWORDS = {"xx-small": 9.0, "x-small": 10.0, "small": 13.0, "medium": 16.0, "large": 18.0,
                  "x-large": 24.0, "xx-large": 32.0, "xxx-large": 48.0}  # fmt: skip
# Properties that never change whether text can be seen, whatever their value.
NEUTRAL = frozenset({
    "accent-color", "alignment-baseline", "appearance", "aspect-ratio", "backface-visibility",
    "background-attachment", "background-blend-mode", "background-image", "background-origin",
    "background-position", "background-position-x", "background-position-y", "background-repeat",
    "background-size", "behavior", "border-collapse", "border-spacing", "box-decoration-break",
    "box-shadow", "box-sizing", "caption-side", "caret-color", "clear", "color-adjust", "color-scheme",
    "column-gap", "columns", "contain", "container", "container-name", "container-type",
    "counter-increment", "counter-reset", "counter-set", "cursor", "direction", "dominant-baseline",
    "empty-cells", "field-sizing", "fill", "float", "font-display", "font-effect", "font-family",
    "font-feature-settings", "font-kerning", "font-language-override", "font-optical-sizing",
    "font-palette", "font-smooth", "font-smoothing", "font-stretch", "font-style", "font-synthesis", "font-variant",
    "font-variation-settings", "font-weight", "forced-color-adjust", "gap", "hanging-punctuation", "height",
    "hyphens", "image-rendering", "initial-letter", "interpolation-mode", "isolation", "language",
    "layout-grid-mode", "line-break", "line-height", "line-height-step", "list-style", "list-style-image",
    "list-style-position", "list-style-type", "math-depth", "math-style", "max-height", "max-width",
    "min-height", "min-width", "nbsp-mode", "object-fit", "object-position", "order", "orphans",
    "osx-font-smoothing", "outline", "outline-color", "outline-offset", "outline-style", "outline-width",
    "overflow-anchor", "overflow-clip-margin", "overflow-wrap", "overscroll-behavior", "page", "panose-1",
    "perspective", "perspective-origin", "pointer-events", "print-color-adjust", "punctuation-wrap",
    "quotes", "resize", "row-gap", "ruby-align", "ruby-position", "shape-margin", "shape-outside", "size",
    "speak", "stroke", "stroke-width", "supported-color-schemes", "tab-size", "tab-stops", "table-layout",
    "tap-highlight-color", "text-align", "text-align-last", "text-autospace", "text-combine-upright",
    "text-decoration", "text-decoration-color", "text-decoration-line", "text-decoration-skip",
    "text-decoration-skip-ink", "text-decoration-style", "text-decoration-thickness", "text-emphasis",
    "text-justify", "text-justify-trim", "text-kashida", "text-line-through", "text-orientation",
    "text-overflow", "text-rendering", "text-shadow", "text-size", "text-size-adjust", "text-spacing-trim",
    "text-stroke", "text-stroke-color", "text-stroke-width", "text-transform", "text-underline",
    "text-underline-offset", "text-underline-position", "text-wrap", "text-wrap-mode", "text-wrap-style",
    "touch-action", "touch-callout", "transform-origin", "transform-style", "unicode-bidi", "user-select",
    "vertical-align-last", "white-space", "white-space-collapse", "widows", "width", "will-change",
    "word-break", "word-spacing-trim", "word-wrap", "writing-mode", "z-index",
})  # fmt: skip
_NEUTRAL_PREFIXES = ("mso-", "-premailer-", "--", "border", "padding", "flex", "grid", "column-",
                     "transition", "scroll", "page-break", "break-", "align-", "justify-", "place-",
                     "box-", "x-apple", "font-variant-", "animation-duration", "animation-delay",
                     "animation-timing", "animation-direction", "animation-iteration", "animation-play",
                     "animation-fill", "mask-border", "marker")  # fmt: skip
_VENDOR = ("-webkit-", "-moz-", "-ms-", "-o-", "-khtml-")


class Look:
    """What text inside an element looks like; copied per element that changes anything."""

    __slots__ = ("alpha", "background", "box_hidden", "closed_details", "color", "custom", "fill", "font_px",
                 "scale", "shown", "verdict")  # fmt: skip

    def __init__(self) -> None:
        self.box_hidden = False  # the element and all inside it are not shown (or are suspect)
        self.shown = True  # the inherited `visibility`
        self.color: RGBA = BLACK
        self.fill: RGBA | None = None  # -webkit-text-fill-color, when set
        self.font_px = DEFAULT_FONT_PX  # computed font-size
        self.scale = 1.0  # from zoom and scale transforms of this element and its ancestors
        self.alpha = 1.0  # product of opacities
        self.background: RGBA = WHITE  # opaque colour beneath the text (Pylon shows bodies on white)
        self.custom: dict[str, list[Any]] = {}  # custom properties, inherited
        self.closed_details = False
        self.verdict: bool | None = None  # text_visible(), once known

    def child(self) -> Look:
        out = Look.__new__(Look)
        out.box_hidden, out.shown, out.color, out.fill = self.box_hidden, self.shown, self.color, self.fill
        out.font_px, out.scale, out.alpha, out.background = (
            self.font_px,
            self.scale,
            self.alpha,
            self.background,
        )
        out.custom, out.closed_details, out.verdict = self.custom, False, None
        return out

    def text_visible(self) -> bool:
        if self.verdict is None:
            self.verdict = self._text_visible()
        return self.verdict

    def _text_visible(self) -> bool:
        if self.box_hidden or not self.shown or self.closed_details:
            return False
        if self.font_px * self.scale < MIN_FONT_PX:
            return False
        ink = self.fill if self.fill is not None else self.color
        ink = (ink[0], ink[1], ink[2], ink[3] * self.alpha)
        return contrast(ink, self.background) >= MIN_CONTRAST


def _unprefixed(name: str) -> str:
    for prefix in _VENDOR:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def relevant(declaration: Declaration) -> bool:
    """Whether a declaration can change what is visible (the others are not even kept from a stylesheet)."""
    return relevant_name(declaration.name)


# Neutral on their own, but read by another property's rule (overflow with a zero size).
_READ_BY_OTHERS = frozenset({"width", "height", "max-width", "max-height", "line-height"})


def relevant_name(name: str) -> bool:
    if name.startswith("--"):
        return True  # custom properties feed var()
    bare = _unprefixed(name)
    return bare in _READ_BY_OTHERS or not (bare in NEUTRAL or bare.startswith(_NEUTRAL_PREFIXES))


def apply(look: Look, parent: Look, css: dict[str, Declaration]) -> None:
    """Fill `look` (a child of `parent`) from one element's cascaded declarations."""
    for name, declaration in css.items():
        if name.startswith("--"):
            if look.custom is parent.custom:
                look.custom = dict(parent.custom)
            look.custom[name] = declaration.value
    for name, declaration in sorted(css.items(), key=_first_what_others_depend_on):
        if name.startswith("--"):
            continue
        value = declaration.value
        if _has_var(value):
            from pylon_mcp.render.css import substitute

            resolved = substitute(value, look.custom)
            value = resolved if resolved is not None else _UNSET
        if not _judge(_unprefixed(name), name, value, look, parent, css):
            look.box_hidden = True
            return


_DEPENDED_ON = {"font-size": 0, "font": 0, "color": 1, "position": 1}


def _first_what_others_depend_on(item: tuple[str, Declaration]) -> int:
    return _DEPENDED_ON.get(item[0], 2)


def _has_var(value: list[Any]) -> bool:
    from pylon_mcp.render.css import has_var

    return has_var(value)


class _Unset:
    type = "ident"
    value = lower_value = "unset"


_UNSET = [_Unset()]


def _judge(name: str, raw_name: str, value: list[Any], look: Look, parent: Look, css: dict) -> bool:
    """Apply one declaration; False when it hides the element's box or is not known to leave text visible."""
    word = keyword(value)
    if name in NEUTRAL or name.startswith(_NEUTRAL_PREFIXES):
        return True
    handler = _HANDLERS.get(name)
    if handler is None:
        return False  # not on the allowlist
    return handler(word, value, look, parent, css)


def _display(word: str | None, value: list[Any], *_: Any) -> bool:
    shown = " ".join(t.lower_value for t in words(value) if t.type == "ident")
    return shown in _DISPLAY_SHOWN or shown in _WIDE


def _visibility(word: str | None, value: list[Any], look: Look, parent: Look, _css: Any) -> bool:
    if word in ("visible", "initial", "revert", "revert-layer"):
        look.shown = True
    elif word in ("inherit", "unset"):
        look.shown = parent.shown
    elif word in ("hidden", "collapse"):
        look.shown = False
    else:
        return False
    return True


def _content_visibility(word: str | None, *_: Any) -> bool:
    return word in ("visible", "auto") or word in _WIDE


def _opacity(word: str | None, value: list[Any], look: Look, *_: Any) -> bool:
    if word in _WIDE:
        return True
    amount = number(value)
    if amount is None:
        return False
    look.alpha *= min(max(amount, 0.0), 1.0)
    return True


def _ink(word: str | None, value: list[Any], look: Look, parent: Look, fallback: RGBA) -> RGBA | None:
    if word in ("inherit", "unset"):
        return None  # keeps the inherited value
    if word in ("initial", "revert", "revert-layer"):
        return fallback
    found = words(value)
    color = parse_color(found[0]) if len(found) == 1 else None
    if color == CURRENT:
        return parent.color
    return color if isinstance(color, tuple) else ()  # type: ignore[return-value]


def _color(word: str | None, value: list[Any], look: Look, parent: Look, _css: Any) -> bool:
    color = _ink(word, value, look, parent, BLACK)
    if color == ():
        return False
    if color is not None:
        look.color = color
    return True


def _fill(word: str | None, value: list[Any], look: Look, parent: Look, _css: Any) -> bool:
    if word == "currentcolor":
        look.fill = None
        return True
    color = _ink(word, value, look, parent, BLACK)
    if color == ():
        return False
    if color is not None:
        look.fill = color if word not in ("initial", "revert") else None
    return True


def _background_color(word: str | None, value: list[Any], look: Look, parent: Look, _css: Any) -> bool:
    if word in _WIDE:
        return True
    found = words(value)
    color = parse_color(found[0]) if len(found) == 1 else None
    if color == CURRENT:
        color = look.color
    if not isinstance(color, tuple):
        return False
    look.background = over(color, parent.background)
    return True


def _background(word: str | None, value: list[Any], look: Look, parent: Look, _css: Any) -> bool:
    """The shorthand: its colour (or a gradient's first colour stop) is what text sits on; an image alone
    is not assumed to be dark."""
    if word in _WIDE or word == "none":
        return True
    for token in words(value):
        candidates = [token]
        if token.type == "function" and token.lower_name.endswith("gradient"):
            candidates = words(token.arguments)
        for candidate in candidates:
            if candidate.type == "function" and candidate.lower_name == "url":
                break
            color = parse_color(candidate) if candidate.type in ("ident", "hash", "function") else None
            if color == CURRENT:
                color = look.color
            if isinstance(color, tuple):
                look.background = over(color, parent.background)
                return True
    return True


def _font_size(word: str | None, value: list[Any], look: Look, parent: Look, _css: Any) -> bool:
    size = _font_px(word, value, parent.font_px)
    if size is None:
        return False
    look.font_px = size
    return True


def _font_px(word: str | None, value: list[Any], parent_px: float) -> float | None:
    if word in ("inherit", "unset", "revert", "revert-layer"):
        return parent_px
    if word == "initial":
        return DEFAULT_FONT_PX
    if word in _FONT_KEYWORDS:
        return _FONT_KEYWORDS[word]
    if word == "smaller":
        return parent_px / 1.2
    if word == "larger":
        return parent_px * 1.2
    return length_px(value, parent_px, parent_px)


_SYSTEM_FONTS = frozenset({"caption", "icon", "menu", "message-box", "small-caption", "status-bar"})


def _font(word: str | None, value: list[Any], look: Look, parent: Look, _css: Any) -> bool:
    """The shorthand's size: the first length, percentage or size keyword (before any `/line-height`)."""
    if word in _WIDE or word in _SYSTEM_FONTS:
        look.font_px = parent.font_px if word != "initial" else DEFAULT_FONT_PX
        return True
    for token in words(value):
        if token.type in ("dimension", "percentage") or (token.type == "number" and token.value == 0):
            size = length_px([token], parent.font_px, parent.font_px)
            if size is None:
                return False
            look.font_px = size
            return True
        if token.type == "function" and token.lower_name in ("calc", "min", "max", "clamp"):
            size = length_px([token], parent.font_px, parent.font_px)
            if size is None:
                return False
            look.font_px = size
            return True
        if token.type == "ident" and token.lower_value in _FONT_KEYWORDS:
            look.font_px = _FONT_KEYWORDS[token.lower_value]
            return True
    return False  # a font shorthand without a size is invalid


def _zoom(word: str | None, value: list[Any], look: Look, *_: Any) -> bool:
    if word in ("normal", "reset") or word in _WIDE:
        return True
    amount = number(value)
    if amount is None or amount < MIN_SCALE:
        return False
    look.scale *= amount
    return True


def _in_range(px: float | None) -> bool:
    return px is not None and OFFSET_RANGE[0] <= px <= OFFSET_RANGE[1]


def _offset(word: str | None, value: list[Any], look: Look, *_: Any) -> bool:
    """One length that moves text: auto and zero-ish are fine, far away is not."""
    if word in ("auto", "normal", "none") or word in _WIDE:
        return True
    if not words(value):
        return False
    return all(
        (t.type == "ident" and t.lower_value in ("auto", "each-line", "hanging"))
        or _in_range(length_px([t], look.font_px, PERCENT_OF_WIDTH * 100))
        for t in words(value)
    )


def _position_offset(word: str | None, value: list[Any], look: Look, parent: Look, css: dict) -> bool:
    position = css.get("position")
    if position is None or keyword(position.value) in (None, "static", "initial", "unset"):
        return True  # offsets do nothing to static boxes
    return _offset(word, value, look, parent, css)


def _position(word: str | None, *_: Any) -> bool:
    return word in ("static", "relative", "absolute", "fixed", "sticky", "-webkit-sticky") or word in _WIDE


def _angle(token: Any) -> float | None:
    if token.type == "dimension":
        factor = {"deg": 1.0, "rad": 180 / math.pi, "grad": 0.9, "turn": 360.0}.get(token.unit.lower())
        return None if factor is None else float(token.value) * factor
    if token.type == "number" and token.value == 0:
        return 0.0
    return None


def _edge_on(degrees: float) -> bool:
    """A rotation about the X or Y axis that leaves text too thin (or mirrored) to read."""
    return math.cos(math.radians(degrees)) < MIN_SCALE


def _args(token: Any) -> list[Any]:
    return [t for t in token.arguments if t.type not in ("whitespace", "comment") and not
            (t.type == "literal" and t.value == ",")]  # fmt: skip


def _scale_factor(tokens: list[Any]) -> float | None:
    factors = [number([t]) for t in tokens]
    if not factors or any(f is None for f in factors):
        return None
    return min(abs(f) for f in factors[:2] if f is not None)


def _shift_ok(token: Any, look: Look) -> bool:
    """A translation: percentages are of the element's own size (centring uses -50%), so up to 100% stays
    near its place; lengths must stay within OFFSET_RANGE."""
    if token.type == "percentage":
        return abs(float(token.value)) <= 100
    return _in_range(length_px([token], look.font_px, PERCENT_OF_WIDTH * 100))


def _transform(word: str | None, value: list[Any], look: Look, *_: Any) -> bool:
    if word == "none" or word in _WIDE:
        return True
    for fn in words(value):
        if fn.type != "function":
            return False
        name, args = fn.lower_name, _args(fn)
        if name in ("translate", "translatex", "translatey", "translate3d", "translatez"):
            lengths = args[:2] if name in ("translate", "translate3d") else args[:1]
            if name == "translatez":
                continue
            if not all(_shift_ok(a, look) for a in lengths):
                return False
        elif name in ("scale", "scalex", "scaley", "scale3d", "scalez"):
            factor = _scale_factor(args if name != "scalez" else [])
            if name == "scalez":
                continue
            if factor is None or factor < MIN_SCALE:
                return False
            look.scale *= factor
        elif name in ("rotate", "rotatez"):
            if not args or _angle(args[0]) is None:
                return False
        elif name in ("rotatex", "rotatey"):
            angle = _angle(args[0]) if args else None
            if angle is None or _edge_on(angle):
                return False
        elif name in ("skew", "skewx", "skewy"):
            angles = [_angle(a) for a in args]
            if not angles or any(a is None or abs(math.tan(math.radians(a))) > 2 for a in angles):
                return False
        elif name == "matrix":
            numbers = [number([a]) for a in args]
            if len(numbers) != 6 or any(n is None for n in numbers):
                return False
            a, b, c, d, e, f = (n or 0.0 for n in numbers)
            if abs(a * d - b * c) < MIN_SCALE**2 or min(math.hypot(a, b), math.hypot(c, d)) < MIN_SCALE:
                return False
            if not (_in_range(e) and _in_range(f)):
                return False
        elif name == "perspective":
            continue
        else:
            return False  # matrix3d, rotate3d and the rest: not known to leave text readable
    return True


def _translate(word: str | None, value: list[Any], look: Look, *_: Any) -> bool:
    if word == "none" or word in _WIDE:
        return True
    return all(_shift_ok(t, look) for t in words(value))


def _scale(word: str | None, value: list[Any], look: Look, *_: Any) -> bool:
    if word == "none" or word in _WIDE:
        return True
    factor = _scale_factor(words(value))
    if factor is None or factor < MIN_SCALE:
        return False
    look.scale *= factor
    return True


def _rotate(word: str | None, value: list[Any], *_: Any) -> bool:
    if word == "none" or word in _WIDE:
        return True
    found = words(value)
    if len(found) == 1:
        return _angle(found[0]) is not None
    if len(found) == 2 and found[0].type == "ident" and found[0].lower_value in ("x", "y", "z"):
        angle = _angle(found[1])
        return angle is not None and (found[0].lower_value == "z" or not _edge_on(angle))
    return False


def _filter(word: str | None, value: list[Any], look: Look, *_: Any) -> bool:
    if word == "none" or word in _WIDE:
        return True
    for fn in words(value):
        if fn.type == "ident" and fn.lower_value.startswith("progid"):
            continue  # old IE gradients
        if fn.type != "function":
            if fn.type == "literal" and fn.value in (":", "."):
                continue
            if fn.type == "ident":
                continue
            return False
        name, args = fn.lower_name, _args(fn)
        amount = number(args[:1]) if args else 1.0
        if name == "opacity":
            if amount is None:
                return False
            look.alpha *= min(max(amount, 0.0), 1.0)
        elif name == "alpha":  # IE: alpha(opacity=50)
            numbers = [float(t.value) for t in args if t.type == "number"]
            if not numbers:
                return False
            look.alpha *= min(max(numbers[-1] / 100, 0.0), 1.0)
        elif name == "blur":
            radius = length_px(args[:1], look.font_px, 0) if args else 0.0
            if radius is None or radius > 2:
                return False
        elif name in ("brightness", "contrast"):
            if amount is None or not 0.3 <= amount <= 3:
                return False
        elif name == "invert":
            if amount is None or amount > 0.3:
                return False
        elif name in ("grayscale", "sepia", "saturate", "hue-rotate", "drop-shadow", "gradient"):
            continue
        else:
            return False
    return True


def _overflow(word: str | None, value: list[Any], look: Look, parent: Look, css: dict) -> bool:
    """Clipping is fine unless the box is (nearly) zero in some direction."""
    kinds = {t.lower_value for t in words(value) if t.type == "ident"}
    if not kinds <= {"visible", "auto", "scroll", "hidden", "clip", "overlay"} | _WIDE:
        return False
    if not kinds & {"hidden", "clip"}:
        return True
    for side in ("width", "height", "max-width", "max-height"):
        extent = css.get(side)
        if extent is not None:
            px = length_px(extent.value, look.font_px, 600)
            if px is not None and px <= 2:
                return False
    # A box as tall as its lines: with line-height 0 it has no height to show them in.
    line_height = css.get("line-height")
    if line_height is not None and "height" not in css:
        factor = number(line_height.value)
        px = factor * look.font_px if factor is not None else length_px(line_height.value, look.font_px, 100)
        if px is not None and px <= 2:
            return False
    # Text pushed past the box's edge (the "text-indent: 100%" image-replacement trick).
    indent = css.get("text-indent")
    if indent is not None:
        px = length_px(indent.value, look.font_px, PERCENT_OF_WIDTH * 100)
        if px is None or px > 100:
            return False
    return True


def _none_only(word: str | None, *_: Any) -> bool:
    return word in ("none", "auto") or word in _WIDE


def _normal_only(word: str | None, *_: Any) -> bool:
    return word in ("normal", "none") or word in _WIDE


def _spacing(word: str | None, value: list[Any], look: Look, *_: Any) -> bool:
    if word == "normal" or word in _WIDE:
        return True
    px = length_px(value, look.font_px, look.font_px)
    return px is not None and -3 <= px <= 100


def _vertical_align(word: str | None, value: list[Any], look: Look, *_: Any) -> bool:
    if word is not None:
        return True  # baseline, middle, top, sub, super… all stay on the line
    px = length_px(value, look.font_px, look.font_px)
    return px is not None and -100 <= px <= 100


def _line_clamp(word: str | None, value: list[Any], *_: Any) -> bool:
    if word == "none" or word in _WIDE:
        return True
    amount = number(value)
    return amount is not None and amount >= 1


def _font_size_adjust(word: str | None, value: list[Any], *_: Any) -> bool:
    if word == "none" or word in _WIDE:
        return True
    amount = number(value)
    return amount is not None and amount >= MIN_SCALE


def _text_security(word: str | None, *_: Any) -> bool:
    return word == "none" or word in _WIDE


def _animation(word: str | None, *_: Any) -> bool:
    # An animation can end at opacity 0; none is the only value known to leave text as it is.
    return word == "none" or word in _WIDE


def _clip(word: str | None, *_: Any) -> bool:
    return word == "auto" or word in _WIDE


_OFFSET_PROPERTIES = ("top", "left", "right", "bottom", "inset", "inset-inline", "inset-block",
                      "inset-inline-start", "inset-inline-end", "inset-block-start", "inset-block-end")  # fmt: skip
_MARGINS = ("margin", "margin-top", "margin-left", "margin-right", "margin-bottom", "margin-inline",
            "margin-block", "margin-inline-start", "margin-inline-end", "margin-block-start",
            "margin-block-end", "text-indent")  # fmt: skip
_HANDLERS: dict[str, Any] = {
    "display": _display,
    "visibility": _visibility,
    "content-visibility": _content_visibility,
    "opacity": _opacity,
    "color": _color,
    "text-fill-color": _fill,
    "background-color": _background_color,
    "background": _background,
    "background-clip": lambda word, *_: word != "text",
    "font-size": _font_size,
    "font": _font,
    "zoom": _zoom,
    "position": _position,
    "transform": _transform,
    "translate": _translate,
    "scale": _scale,
    "rotate": _rotate,
    "filter": _filter,
    "backdrop-filter": lambda *_: True,
    "overflow": _overflow,
    "overflow-x": _overflow,
    "overflow-y": _overflow,
    "overflow-block": _overflow,
    "overflow-inline": _overflow,
    "clip": _clip,
    "clip-path": _none_only,
    "mask": _none_only,
    "mask-image": _none_only,
    "mix-blend-mode": _normal_only,
    "content": _normal_only,
    "letter-spacing": _spacing,
    "word-spacing": _spacing,
    "vertical-align": _vertical_align,
    "line-clamp": _line_clamp,
    "font-size-adjust": _font_size_adjust,
    "text-security": _text_security,
    "animation": _animation,
    "animation-name": _animation,
    **dict.fromkeys(_OFFSET_PROPERTIES, _position_offset),
    **dict.fromkeys(_MARGINS, _offset),
}
