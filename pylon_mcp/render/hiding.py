"""Text a person looking at the email would not see, or might not: the model does not read it either.

Runs on the inbound sanitiser's output (html5ever-serialised: balanced tags, attribute values
double-quoted), which keeps `style`, `class`, `id`, `hidden`, `aria-hidden`, `open`, `color` and
`bgcolor` for this pass only. The policy is an allowlist (see `visibility` and
docs/hiding-policy.md): text stays only when every declaration that applies to it, inline or from a
`<style>` rule, is known to leave it visible, and its ink contrasts with the background beneath.
What is left out is counted, so the reader of the Markdown can be told.

Linear time throughout, within per-body budgets: `<style>` blocks are found with possessive
patterns, outlined at C speed (css_outline) and only the rules that can hide anything are tokenized
with tinycss2; selectors are matched against the open-element stack.
"""

from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from pylon_mcp.render.css import (
    MAX_NESTING,
    Declaration,
    ParseCache,
    Stylesheet,
    declarations,
    nested_deeper_than,
    parse_stylesheet,
)
from pylon_mcp.render.nesting import TAG_TOKEN, tag_region
from pylon_mcp.render.text import strip_invisible
from pylon_mcp.render.visibility import LINK_BLUE, Look, apply, relevant, relevant_name

_TAG = re.compile(r'<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s=>/]+(?:="[^"]*")?)*)\s*(/?)>')
_ATTR = re.compile(r'([^\s=>/]+)(?:="([^"]*)")?')
_VOID = frozenset({"br", "hr", "img", "wbr", "input", "meta", "link", "col", "source", "area", "base", "embed",
                   "track"})  # fmt: skip
_KEPT_ATTRIBUTES = frozenset({"href", "src", "alt", "colspan", "rowspan"})
# CSS costs about 2 µs a token in pure Python, holding the GIL: beyond this many (estimated) tokens of
# style text, what is visible is not decided, and the whole body is left out with a note. Mail clients
# clip messages past ~100 KB, so real stylesheets stay well inside it (a 50 KB one is ~25k).
MAX_CSS_TOKENS = 40_000
# Roughly one CSS token each: a run of name characters, a run of spaces, or any other character.
_TOKEN_ESTIMATE = re.compile(r"[\w\-]++|\s++|[^\w\s\-]", re.ASCII)
# Per body, before it is called undecidable (each unit costs about 1-2 µs): elements whose look is
# decided, selector matching (rules tried, ancestors scanned, declarations ranked; the realistic 50 KB
# marketing email needs ~3,000 in all) and
# characters of inline style tokenized (neutral declarations and repeats cost nothing; the same email
# needs ~300).
MAX_MATCH_WORK = 60_000
LOOK_COST = 25  # units for deciding one element's look (cascade, colours, contrast): ~50 µs
MAX_INLINE_CSS_CHARS = 40_000


class _TooCostly(Exception):
    """Reading this body's styles would cost more than the budgets above."""


class _Work:
    """What deciding one body has cost so far, and the parses it can reuse."""

    def __init__(self, absent: frozenset[str]) -> None:
        self.absent = absent  # attribute names the HTML never has
        self.match = 0
        self.css_chars = 0
        self.parsed = ParseCache(self._charge_css)

    def _charge_css(self, chars: int) -> None:
        self.css_chars += chars
        if self.css_chars > MAX_INLINE_CSS_CHARS:
            raise _TooCostly

    def charge_match(self, units: int) -> None:
        self.match += units
        if self.match > MAX_MATCH_WORK:
            raise _TooCostly


MAX_STYLE_BLOCKS = 500  # real emails have a handful; past this many the styles are undecidable


@dataclass(frozen=True, slots=True)
class Styles:
    """The `<style>` blocks of a body: the rules, or `undecidable` when they are too big to read."""

    sheet: Stylesheet
    undecidable: bool = False
    absent: frozenset[str] = frozenset()  # attribute names the sheet tests that the HTML never has


def style_blocks(raw_html: str) -> list[str]:
    """The text of every `<style>` element in the raw HTML, wherever it sits (in comments, svg or
    noscript too: a browser may apply those, and reading too much only hides more). Linear: each
    start tag is matched once, possessively, and the scan stops at the last `>`."""
    lowered = raw_html.lower()
    region = tag_region(raw_html)
    blocks = []
    position = 0
    while True:
        start = lowered.find("<style", position, region)
        if start < 0:
            break
        m = TAG_TOKEN.match(raw_html, start, region)
        if m is None or m.group(2) is None or m.group(2).lower() != "style":
            position = m.end() if m is not None else start + 6
            continue
        end = lowered.find("</style", m.end())
        if end < 0:
            blocks.append(raw_html[m.end() :])
            break
        blocks.append(raw_html[m.end() : end])
        position = end + 7
        if len(blocks) > MAX_STYLE_BLOCKS:
            break  # stylesheet() calls this many undecidable
    return blocks


def _too_big(css: str) -> bool:
    # Blocks cost about twice a plain token to parse: brackets count double.
    brackets = css.count("{") + css.count("(") + css.count("[")
    if _TOKEN_ESTIMATE.subn("", css)[1] + 2 * brackets > MAX_CSS_TOKENS:
        return True
    return nested_deeper_than(css, MAX_NESTING)


def stylesheet(raw_html: str) -> Styles:
    """The rules of the body's `<style>` blocks that can change what is visible."""
    blocks = style_blocks(raw_html)
    if not blocks:
        return Styles(Stylesheet())
    css = "\x00".join(blocks)
    if len(blocks) > MAX_STYLE_BLOCKS or _too_big(css):
        return Styles(Stylesheet(), undecidable=True)
    sheet = _sheets.get(css)
    if sheet is None:
        sheet = parse_stylesheet(blocks, relevant, relevant_name)
        _sheets.put(css, sheet)
    return Styles(sheet, absent=_absent_attributes(sheet, raw_html, css))


_MAX_ATTRIBUTE_LOOKUPS = 200


def _absent_attributes(sheet: Stylesheet, raw_html: str, css: str) -> frozenset[str]:
    """The attribute names the sheet's selectors test that appear nowhere outside the style blocks
    (`[data-ogsc]`, added by Outlook.com in dark mode): rules needing them never match."""
    if not sheet.attribute_names:
        return frozenset()
    raw_lower, css_lower = raw_html.lower(), css.lower()
    names = sorted(sheet.attribute_names)[:_MAX_ATTRIBUTE_LOOKUPS]  # the rest: assumed present
    return frozenset(name for name in names if raw_lower.count(name) <= css_lower.count(name))


class _RecentSheets:
    """Parsed stylesheets by their CSS text: templated mail (notifications, newsletters) repeats the same
    stylesheet in every message, and tokenizing it is most of the cost. Bounded by the CSS kept."""

    def __init__(self, max_chars: int = 2_000_000) -> None:
        self.max_chars = max_chars
        self._entries: OrderedDict[str, Stylesheet] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, css: str) -> Stylesheet | None:
        with self._lock:
            found = self._entries.get(css)
            if found is not None:
                self._entries.move_to_end(css)
            return found

    def put(self, css: str, sheet: Stylesheet) -> None:
        with self._lock:
            if css in self._entries or len(css) > self.max_chars // 4:
                return
            self._entries[css] = sheet
            self._size += len(css)
            while self._size > self.max_chars:
                old, _ = self._entries.popitem(last=False)
                self._size -= len(old)


_sheets = _RecentSheets()


@dataclass(frozen=True, slots=True)
class Visible:
    html: str
    left_out_chars: int  # characters of text left out as hidden or suspect
    undecidable: bool = False  # the style blocks were too big to read: all text was left out


def _text_chars(chunk: str) -> int:
    """Characters of text as a reader would count them: entities decoded, spaces collapsed, invisible gone."""
    return len(" ".join(strip_invisible(html.unescape(chunk)).split()))


_FOREIGN = frozenset({"svg", "math"})


def drop_foreign_content(guarded_html: str) -> tuple[str, int]:
    """The HTML without SVG and MathML, and how many characters of text they held. Their text is
    drawn by rules this policy does not model (fill, viewBox, width=0), so it is left out."""
    lowered_find = guarded_html.lower().find
    if lowered_find("<svg") < 0 and lowered_find("<math") < 0:
        return guarded_html, 0
    parts: list[str] = []
    position = 0
    depth = 0
    cut_from = 0
    removed = 0
    for m in TAG_TOKEN.finditer(guarded_html, 0, tag_region(guarded_html)):
        name = (m.group(2) or "").lower()
        if name not in _FOREIGN:
            continue
        if not m.group(1):
            if depth == 0:
                parts.append(guarded_html[position : m.start()])
                cut_from = m.start()
            if not m.group(3).endswith("/"):
                depth += 1
            elif depth == 0:
                position = m.end()
        elif depth:
            depth -= 1
            if depth == 0:
                removed += _text_chars(TAG_TOKEN.sub(" ", guarded_html[cut_from : m.end()]))
                position = m.end()
    if depth:
        removed += _text_chars(TAG_TOKEN.sub(" ", guarded_html[cut_from:]))
    else:
        parts.append(guarded_html[position:])
    return "".join(parts), removed


def _cascade(
    styles: Stylesheet,
    chain: list[tuple[str, str, frozenset[str]]],
    inline: str,
    hints: dict[str, str],
    work: _Work,
) -> dict[str, Declaration]:
    """The declarations that apply to the last element of `chain`: presentational hints, then sheet
    rules by specificity and order, then the inline style; `!important` ones above all, inline last."""
    ranked: list[tuple[tuple[int, int, tuple[int, int, int], int], Declaration]] = []
    if hints:
        for name, value in hints.items():
            for declaration in declarations(f"{name}:{value}"):
                ranked.append(((0, 0, (0, 0, 0), 0), declaration))
    if styles:
        tag, id_, classes = chain[-1]
        for rule in styles.candidates(tag, id_, classes):
            work.charge_match(len(chain) if rule.selector.combinators else 1)
            if rule.selector.matches(chain, work.absent):
                work.charge_match(len(rule.declarations))
                for declaration in rule.declarations:
                    key = (int(declaration.important), 0, rule.selector.specificity, rule.order)
                    ranked.append((key, declaration))
    if inline:
        for order, declaration in enumerate(work.parsed.style(inline, relevant_name)):
            ranked.append(((int(declaration.important), 1, (0, 0, 0), order), declaration))
    ranked.sort(key=lambda item: item[0])
    return {declaration.name: declaration for _, declaration in ranked}


def _legacy_color(value: str) -> str:
    """An HTML colour attribute as CSS (`bgcolor="ffffff"` means #ffffff); empty when unreadable."""
    from pylon_mcp.render.colors import parse_color

    value = value.strip()
    for candidate in (value, "#" + value):
        if re.fullmatch(r"#?[0-9a-zA-Z]{1,40}", candidate) and parse_color(candidate) is not None:
            return candidate
    return ""


def remove_hidden(clean_html: str, styles: Styles | None = None) -> Visible:
    """The HTML without text a reader would not (or might not) see, and how much text that was.

    A box that is not shown (display, hidden attributes, clipping, off-screen, a closed
    `<details>`, or any declaration not on the allowlist) goes with everything inside it. Ink is
    decided per text run: text too small, with `visibility:hidden`, or without enough contrast
    with the background beneath it is left out, while a descendant that makes it readable stays.
    Kept tags lose the attributes used only to decide.
    """
    if styles is not None and not styles.undecidable:
        try:
            return _walk(clean_html, styles.sheet, styles.absent)
        except (_TooCostly, RecursionError):  # RecursionError: a guard behind the nesting limits
            pass
    elif styles is None:
        try:
            return _walk(clean_html, Stylesheet(), frozenset())
        except (_TooCostly, RecursionError):
            pass
    return Visible("", _text_chars(re.sub(r"<[^>]*+>", " ", clean_html)), undecidable=True)


def _walk(clean_html: str, sheet: Stylesheet, absent: frozenset[str]) -> Visible:
    out: list[str] = []
    root = Look()
    looks: list[Look] = []
    chain: list[tuple[str, str, frozenset[str]]] = []
    hidden_depth = 0  # > 0 while inside a hidden box (counts nesting to find its end)
    left_out = 0
    work = _Work(absent)
    # Siblings with the same tag and attributes look alike: (parent, tag, attributes) → (parent Look, Look).
    frames: list[int] = []
    next_frame = 0
    same: dict[tuple[int, str, str], tuple[Look, Look]] = {}
    position = 0
    for m in _TAG.finditer(clean_html):
        chunk = clean_html[position : m.start()]
        if chunk:
            look = looks[-1] if looks else root
            if not hidden_depth and look.text_visible():
                out.append(chunk)
            elif chunk.strip():
                left_out += _text_chars(chunk)
                if not hidden_depth:
                    out.append(" ")
        position = m.end()
        closing, name, raw_attrs, self_closing = m.group(1), m.group(2).lower(), m.group(3), m.group(4)
        void = name in _VOID or bool(self_closing)
        if closing:
            if hidden_depth:
                hidden_depth -= 1
            else:
                out.append(f"</{name}>")
            if looks:
                looks.pop()
                chain.pop()
                frames.pop()
            continue
        parent = looks[-1] if looks else root
        if hidden_depth:
            if not void:
                hidden_depth += 1
                looks.append(parent)
                chain.append((name, "", frozenset()))
                frames.append(-1)
            continue
        attrs = {k.lower(): html.unescape(v or "") for k, v in _ATTR.findall(raw_attrs)} if raw_attrs else {}
        classes = frozenset(attrs.get("class", "").lower().split()) if "class" in attrs else frozenset()
        chain.append((name, attrs.get("id", "").lower(), classes))
        # Without a stylesheet a Look depends only on its parent's Look; with one, on the ancestors.
        key = (id(parent) if not sheet else frames[-1] if frames else -1, name, raw_attrs)
        cached = same.get(key)
        if cached is not None and cached[0] is parent:
            look = cached[1]
        else:
            work.charge_match(LOOK_COST)
            look = _look(name, attrs, parent, sheet, chain, work)
            if len(same) < 50_000:
                same[key] = (parent, look)  # holding the parent keeps its id from being reused
        if look.box_hidden:
            if void:
                chain.pop()
            else:
                hidden_depth = 1
                looks.append(look)
                frames.append(-1)
            continue
        kept = " ".join(f'{k}="{html.escape(v)}"' for k, v in attrs.items() if k in _KEPT_ATTRIBUTES)
        out.append(f"<{name}{' ' + kept if kept else ''}>")
        if void:
            chain.pop()
        else:
            looks.append(look)
            frames.append(next_frame)
            next_frame += 1
    chunk = clean_html[position:]
    if chunk.strip():
        look = looks[-1] if looks else root
        if not hidden_depth and look.text_visible():
            out.append(chunk)
        else:
            left_out += _text_chars(chunk)
    return Visible("".join(out), left_out)


_SMALLER = frozenset({"small", "sub", "sup"})
_UA_STYLED = frozenset({"details", "a"}) | _SMALLER


def _look(
    name: str,
    attrs: dict[str, str],
    parent: Look,
    sheet: Stylesheet,
    chain: list[tuple[str, str, frozenset[str]]],
    work: _Work,
) -> Look:
    if parent.closed_details and name != "summary":
        hidden = parent.child()
        hidden.box_hidden = True
        return hidden
    if not attrs and not sheet and name not in _UA_STYLED:
        return parent if not parent.closed_details else parent.child()  # the common case, kept cheap
    look = parent.child()
    if name in _SMALLER:
        look.font_px /= 1.2  # a browser's `font-size: smaller`: nesting them shrinks text away
    if "hidden" in attrs or attrs.get("aria-hidden", "").strip().lower() == "true":
        look.box_hidden = True
        return look
    hints = {}
    if "bgcolor" in attrs:
        hints["background-color"] = _legacy_color(attrs["bgcolor"])
    if "color" in attrs and name == "font":
        hints["color"] = _legacy_color(attrs["color"])
    hints = {k: v for k, v in hints.items() if v}
    css = _cascade(sheet, chain, attrs.get("style", ""), hints, work) if (attrs or sheet) else {}
    if name == "a" and "href" in attrs and "color" not in css:
        look.color = LINK_BLUE  # a browser's link colour, unless the author sets one on the link
    apply(look, parent, css)
    if name == "details" and "open" not in attrs:
        look.closed_details = True
    return look
