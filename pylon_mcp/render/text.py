"""Small text tools for model-facing output: invisible characters, quoting, fencing, budgets."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Characters a human reviewer cannot see but a model reads: every Unicode format character
# (category Cf: zero-width characters and joiners, bidi overrides and isolates, soft hyphen, BOM,
# interlinear annotation marks, shorthand and musical format controls, Egyptian hieroglyph
# controls, Unicode tag characters) except KEPT_FORMAT_CHARACTERS; also fillers, variation
# selectors, and C0/C1 controls other than newline and tab. tests/test_render.py checks the Cf
# ranges against Python's Unicode database.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e007f\U000e0100-\U000e01ef"
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)
# Format characters that are kept: the prepended concatenation marks (Arabic number signs and
# the like). Each is drawn as a visible sign spanning the digits after it, so none hides text.
KEPT_FORMAT_CHARACTERS = frozenset(
    "\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd"
)
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_TILDES = re.compile(r"~{3,}")


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


def tidy(text: str) -> str:
    """No invisible characters, no runs of blank lines, no trailing space."""
    text = strip_invisible(text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return _BLANK_LINES.sub("\n\n", text).strip()


_CODE_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_THEMATIC_BREAK = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")


def compact_markdown(text: str) -> str:
    """Markdown with no blank lines and no trailing spaces outside code blocks.

    A model reads line breaks as well as paragraphs, and the two-space hard break and the
    blank line between paragraphs cost bytes in every read. Code blocks keep every character.
    """
    out: list[str] = []
    fence_run = ""
    for line in text.split("\n"):
        opening = _CODE_FENCE.match(line)
        if fence_run:
            out.append(line)
            if opening and opening.group(1)[0] == fence_run[0] and len(opening.group(1)) >= len(fence_run):
                fence_run = ""
        elif opening:
            fence_run = opening.group(1)
            out.append(line.rstrip())
        elif line.strip():
            if out and _THEMATIC_BREAK.match(line):
                out.append("")  # right under a line, `---` would make it a heading
            out.append(line.rstrip())
    return "\n".join(out)


def quote(text: str) -> str:
    """A single-line, JSON-quoted string: customer text that cannot break out of its line."""
    quoted = json.dumps(strip_invisible(text), ensure_ascii=False)
    # JSON leaves the Unicode line and paragraph separators raw; many readers break lines there.
    return quoted.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# A value shown bare must look like one token of data: no quotes, separators or brackets
# that could fake structure, and nothing that could end the line (escaped by quote()).
_BARE = re.compile(r"[^\s\"'`,;()\[\]{}<>|\\]+|[^\s\"'`,;:()\[\]{}<>|\\]+(?: [^\s\"'`,;:()\[\]{}<>|\\]+)+")
# Characters that break a line or reorder text: refused in one-line arguments.
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def inline(value: object) -> str:
    """A customer- or model-controlled value for a line of server text.

    Plain tokens (an email, a tag, an ID, a URL, or words with single spaces and no colon)
    stay bare; anything else is JSON-quoted, so no value can start a line of its own or
    pass for server text ("SYSTEM: …").
    """
    text = strip_invisible(str(value))
    return text if text and _BARE.fullmatch(text) else quote(text)


def inline_list(values: list[str]) -> str:
    return ", ".join(inline(v) for v in values)


def line_breaking_character(text: str) -> str | None:
    """The first character that has no place in a one-line value (as U+XXXX), or None."""
    m = _LINE_BREAKING.search(text)
    return f"U+{ord(m.group()):04X}" if m else None


def one_line(text: str, limit: int) -> str:
    """Collapse whitespace and cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def fence(text: str, label: str) -> str:
    """Wrap customer-written Markdown in a tilde fence it cannot close early.

    CommonMark closes a fence only with a run at least as long as the opening
    one, so the fence is one tilde longer than any run inside the text.
    """
    longest = max((len(run) for run in _TILDES.findall(text)), default=2)
    bar = "~" * max(3, longest + 1)
    return f"{bar}{label}\n{text}\n{bar}"


@dataclass(frozen=True, slots=True)
class Window:
    """A slice of a longer text, and where the next slice starts (None when this is the end)."""

    text: str
    start: int
    total: int
    next_offset: int | None


def window(text: str, offset: int, limit: int) -> Window:
    """Up to `limit` characters from `offset`, ending at a line or word break when one is near."""
    total = len(text)
    start = min(max(0, offset), total)
    end = min(total, start + limit)
    if end < total:
        cut = max(text.rfind("\n", start, end), text.rfind(" ", start, end))
        if cut > start + limit * 0.8:
            end = cut
    return Window(text[start:end], start, total, end if end < total else None)
