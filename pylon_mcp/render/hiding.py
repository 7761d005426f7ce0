"""Which elements a person looking at the email would not see, so the model must not read them either.

Runs on the inbound sanitiser's output (html5ever-serialised: balanced tags, attribute values
double-quoted), which keeps `style`, `hidden`, `aria-hidden`, `color` and `bgcolor` for this
pass only. A hidden element is removed with everything inside it. The tricks covered:
display:none, visibility:hidden/collapse, opacity ≈ 0, font-size ≈ 0, text colour transparent
or the same as the background it sits on (white on the default white page included),
off-screen positioning, zero (or 1px) width/height with overflow hidden, clip/clip-path,
transform scale(0), a large negative text-indent, the `hidden` and `aria-hidden="true"`
attributes, and CSS escapes or comments that spell any of these (`dis\\play:none`).
Declarations from `<style>` blocks count too, for simple selectors (`p`, `.class`, `#id`,
`p.class`); rules with combinators or pseudo-classes are not evaluated.
"""

from __future__ import annotations

import colorsys
import html
import re

_TAG = re.compile(r'<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s=>/]+(?:="[^"]*")?)*)\s*(/?)>')
_ATTR = re.compile(r'([^\s=>/]+)(?:="([^"]*)")?')
_VOID = frozenset({"br", "hr", "img", "wbr", "input", "meta", "link", "col", "source", "area", "base", "embed",
                   "track"})  # fmt: skip
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})\s?|(.))", re.DOTALL)
_LENGTH = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))([a-z%]*)$")
_PAGE = (255.0, 255.0, 255.0)  # Pylon and mail clients show bodies on white
_INK = (0.0, 0.0, 0.0, 1.0)  # in black
_NAMED = {
    "white": (255, 255, 255), "snow": (255, 250, 250), "ivory": (255, 255, 240), "ghostwhite": (248, 248, 255),
    "whitesmoke": (245, 245, 245), "black": (0, 0, 0), "red": (255, 0, 0), "blue": (0, 0, 255),
    "green": (0, 128, 0), "gray": (128, 128, 128), "grey": (128, 128, 128), "yellow": (255, 255, 0),
}  # fmt: skip


def _decode_css(value: str) -> str:
    """CSS as a browser reads it: escapes decoded, comments gone, lower case."""

    def unescape(m: re.Match[str]) -> str:
        if m.group(1):
            code = int(m.group(1), 16)
            return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
        return "" if m.group(2) == "\n" else m.group(2)

    return _CSS_COMMENT.sub("", _CSS_ESCAPE.sub(unescape, html.unescape(value))).lower()


def declarations(style: str) -> dict[str, str]:
    """Property → value, the last one winning unless an earlier one is !important."""
    out: dict[str, str] = {}
    important: set[str] = set()
    for item in _decode_css(style).split(";"):
        name, sep, value = item.partition(":")
        name, value = name.strip(), " ".join(value.split())
        if not sep or not name:
            continue
        strong = value.endswith("!important")
        value = value.removesuffix("!important").strip()
        if name in important and not strong:
            continue
        out[name] = value
        if strong:
            important.add(name)
    return out


_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)(?:</style\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
# @media/@supports blocks apply only sometimes (mobile layouts hide the desktop copy): skipped.
_AT_BLOCK = re.compile(r"@[^{;]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}|@[^{;]*;")
_SIMPLE_SELECTOR = re.compile(r"^([a-z][a-z0-9]*)?((?:[.#][a-z0-9_-]+)*)$")


class Stylesheet:
    """Declarations of simple-selector rules, keyed by tag, class and id."""

    def __init__(self) -> None:
        self.by_tag: dict[str, dict[str, str]] = {}
        self.by_class: dict[str, dict[str, str]] = {}
        self.by_id: dict[str, dict[str, str]] = {}

    def __bool__(self) -> bool:
        return bool(self.by_tag or self.by_class or self.by_id)

    def declarations_for(self, tag: str, attrs: dict[str, str]) -> dict[str, str]:
        """Tag rules, then class rules, then id rules (roughly CSS specificity); inline style goes last."""
        out = dict(self.by_tag.get(tag, {}))
        for name in attrs.get("class", "").lower().split():
            out.update(self.by_class.get(name, {}))
        if attrs.get("id"):
            out.update(self.by_id.get(attrs["id"].lower(), {}))
        return out


def stylesheet(raw_html: str) -> Stylesheet:
    """The simple rules of every `<style>` block in the raw HTML (before the sanitiser drops them)."""
    sheet = Stylesheet()
    for block in _STYLE_BLOCK.findall(raw_html):
        for selectors, body in _RULE.findall(_AT_BLOCK.sub("", _decode_css(block))):
            found = declarations(body)
            if not found:
                continue
            for selector in selectors.split(","):
                m = _SIMPLE_SELECTOR.match(selector.strip())
                if not m or not (m.group(1) or m.group(2)):
                    continue
                parts = re.findall(r"[.#][a-z0-9_-]+", m.group(2))
                if not parts and m.group(1):
                    sheet.by_tag.setdefault(m.group(1), {}).update(found)
                for part in parts:  # p.note: treated as .note (hides more, never less)
                    table = sheet.by_class if part[0] == "." else sheet.by_id
                    table.setdefault(part[1:], {}).update(found)
    return sheet


def _length(value: str) -> tuple[float, str] | None:
    m = _LENGTH.match(value.strip())
    return (float(m.group(1)), m.group(2)) if m else None


def _px(value: str) -> float | None:
    """A length in CSS pixels, roughly (em/rem at 16px); None when not a plain length."""
    parsed = _length(value)
    if parsed is None:
        return None
    number, unit = parsed
    return number * {"": 1, "px": 1, "pt": 4 / 3, "em": 16, "rem": 16, "ex": 8, "ch": 8, "vw": 10, "vh": 10,
                     "%": 0.16, "cm": 37.8, "mm": 3.78, "in": 96, "pc": 16}.get(unit, 1)  # fmt: skip


def parse_color(value: str) -> tuple[float, float, float, float] | None:
    """(r, g, b, alpha) from a CSS colour, or None for what we cannot read (then nothing is assumed)."""
    value = value.strip()
    if value == "transparent":
        return (0, 0, 0, 0)
    if value in _NAMED:
        return (*map(float, _NAMED[value]), 1.0)  # type: ignore[return-value]
    if value.startswith("#"):
        digits = value[1:]
        if len(digits) in (3, 4):
            digits = "".join(c * 2 for c in digits)
        if len(digits) in (6, 8) and all(c in "0123456789abcdef" for c in digits):
            channels = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
            alpha = channels[3] / 255 if len(channels) == 4 else 1.0
            return (float(channels[0]), float(channels[1]), float(channels[2]), alpha)
        return None
    m = re.match(r"^(rgba?|hsla?)\((.*)\)$", value)
    if not m:
        return None
    parts = [p for p in re.split(r"[\s,/]+", m.group(2).strip()) if p]
    if len(parts) not in (3, 4):
        return None
    try:
        alpha = 1.0
        if len(parts) == 4:
            alpha = float(parts[3][:-1]) / 100 if parts[3].endswith("%") else float(parts[3])
        if m.group(1).startswith("rgb"):
            rgb = [float(p[:-1]) * 2.55 if p.endswith("%") else float(p) for p in parts[:3]]
            return (rgb[0], rgb[1], rgb[2], alpha)
        hue = float(parts[0].removesuffix("deg")) / 360
        sat, light = (float(p.removesuffix("%")) / 100 for p in parts[1:3])
        r, g, b = colorsys.hls_to_rgb(hue % 1, min(max(light, 0), 1), min(max(sat, 0), 1))
        return (r * 255, g * 255, b * 255, alpha)
    except ValueError:
        return None


def _background(css: dict[str, str], attrs: dict[str, str]) -> tuple[float, float, float] | None:
    for value in (css.get("background-color"), css.get("background"), attrs.get("bgcolor")):
        if not value:
            continue
        for token in [value, *re.findall(r"#[0-9a-f]+|(?:rgba?|hsla?)\([^)]*\)|[a-z]+", value)]:
            color = parse_color(token)
            if color is not None and color[3] > 0.5:
                return color[:3]
    return None


def _zero_scale(transform: str) -> bool:
    for name, args in re.findall(r"(scale[xyz3d]*|matrix)\(([^)]*)\)", transform):
        numbers = [float(n) for n in re.findall(r"-?(?:\d+\.?\d*|\.\d+)", args)]
        if name == "matrix" and len(numbers) == 6 and abs(numbers[0]) < 0.01 and abs(numbers[3]) < 0.01:
            return True
        if name.startswith("scale") and numbers and any(abs(n) < 0.01 for n in numbers[:3]):
            return True
    return False


def style_hides(css: dict[str, str]) -> bool:
    """Whether these declarations alone make an element's text invisible (colour aside)."""
    if css.get("display") == "none" or css.get("visibility") in ("hidden", "collapse"):
        return True
    opacity = _length(css.get("opacity", "1"))
    if opacity is not None and opacity[0] / (100 if opacity[1] == "%" else 1) < 0.1:
        return True
    size = _px(css.get("font-size", "16px"))
    if size is not None and size < 2:
        return True
    for prop in ("clip", "clip-path"):
        if css.get(prop, "none") not in ("none", "auto", "initial", "unset", "inherit"):
            return True
    if _zero_scale(css.get("transform", "")):
        return True
    indent = _px(css.get("text-indent", "0"))
    if indent is not None and indent <= -100:
        return True
    if css.get("position") in ("absolute", "fixed"):
        for side in ("left", "top", "right", "bottom"):
            offset = _px(css.get(side, "0"))
            if offset is not None and offset <= -100:
                return True
    for side in ("margin-left", "margin-top"):
        offset = _px(css.get(side, "0"))
        if offset is not None and offset <= -500:
            return True
    if css.get("overflow", css.get("overflow-x", css.get("overflow-y"))) in ("hidden", "clip"):
        for side in ("width", "height", "max-width", "max-height"):
            extent = _px(css.get(side, "auto"))
            if extent is not None and extent <= 1:
                return True
    return False


def _near(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return max(abs(x - y) for x, y in zip(a[:3], b[:3], strict=True)) <= 24


def remove_hidden(clean_html: str, sheet: Stylesheet | None = None) -> str:
    """The HTML without hidden elements and without text drawn in invisible ink.

    An element hidden by display, visibility, opacity, size, position, clipping or the
    hidden attributes goes with everything inside it. Colour is decided per text run: text
    the colour of the background it sits on (or transparent) is dropped, while a descendant
    that sets a readable colour stays. Kept tags lose the attributes used only to decide.
    """
    out: list[str] = []
    # Open elements: (name, background shown, text colour passed down, whether that text is readable).
    stack: list[tuple[str, tuple[float, ...], tuple[float, ...], bool]] = []
    hidden_depth = 0  # > 0 while inside a hidden element (counts nesting to find its end)
    position = 0

    def text_until(end: int) -> None:
        chunk = clean_html[position:end]
        if chunk and not hidden_depth:
            out.append(chunk if (stack[-1][3] if stack else True) else " ")

    for m in _TAG.finditer(clean_html):
        closing, name, raw_attrs, self_closing = m.group(1), m.group(2).lower(), m.group(3), m.group(4)
        text_until(m.start())
        position = m.end()
        void = name in _VOID or bool(self_closing)
        if closing:
            if hidden_depth:
                hidden_depth -= 1
            else:
                out.append(f"</{name}>")
            if stack:
                stack.pop()
            continue
        parent = stack[-1] if stack else ("", _PAGE, _INK, True)
        if hidden_depth:
            hidden_depth += 0 if void else 1
            if not void:
                stack.append(parent)
            continue
        if not raw_attrs and not (sheet and name in sheet.by_tag):  # the common case, kept cheap
            out.append(f"<{name}>")
            if not void:
                stack.append(parent)
            continue
        attrs = {k.lower(): html.unescape(v or "") for k, v in _ATTR.findall(raw_attrs)}
        css = declarations(attrs.get("style", ""))
        if sheet:
            css = {**sheet.declarations_for(name, attrs), **css}
        if "hidden" in attrs or attrs.get("aria-hidden", "").strip().lower() == "true" or style_hides(css):
            if not void:
                hidden_depth = 1
                stack.append(parent)
            continue
        own_background = _background(css, attrs)
        own_color = (
            parse_color(css.get("color") or attrs.get("color", ""))
            if "color" in css or "color" in attrs
            else None
        )
        background = own_background or parent[1]
        color = own_color or parent[2]
        readable = parent[3]
        if own_color or own_background:
            readable = color[3] >= 0.1 and not _near(color, background)
        kept = " ".join(f'{k}="{html.escape(v)}"' for k, v in attrs.items() if k in _KEPT_ATTRIBUTES)
        out.append(f"<{name}{' ' + kept if kept else ''}>")
        if not void:
            stack.append((name, background, color, readable))
    text_until(len(clean_html))
    return "".join(out)


_KEPT_ATTRIBUTES = frozenset({"href", "src", "alt", "colspan", "rowspan"})
