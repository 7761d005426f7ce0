"""The inbound hiding policy as an allowlist (issue 19 items 1 and 2, docs/hiding-policy.md): text stays
only when every style that applies to it is known to leave it visible. Tricks that used to pass, the
cases the issue adds, and ordinary email styling that must stay visible (false positives hide real
customer text). The older tricks are in test_sanitise_policies.HIDING_TRICKS (50; with the 18 here,
68), and more ordinary styling in its VISIBLE."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pylon_mcp.render.html import html_to_markdown
from tests.emails import MARKETING_SENTENCES, OUTLOOK_EMAIL, OUTLOOK_SENTENCES, marketing_email

# The 18 variants that reached the model (issue 19 item 2), each wrapping the word SECRET.
PASSED_BEFORE = {
    "relative left -9999px": '<div style="position:relative;left:-9999px">SECRET</div>',
    "translateX -9999px": '<div style="transform:translateX(-9999px)">SECRET</div>',
    "large negative margin": '<div style="margin:0 0 0 -9999px">SECRET</div>',
    "left 99999px": '<div style="position:absolute;left:99999px">SECRET</div>',
    "text-indent -100%": '<p style="text-indent:-100%">SECRET</p>',
    "mintcream": '<span style="color:mintcream">SECRET</span>',
    "floralwhite": '<span style="color:floralwhite">SECRET</span>',
    "hwb white": '<span style="color:hwb(0 100% 0%)">SECRET</span>',
    "oklch white": '<span style="color:oklch(1 0 0)">SECRET</span>',
    "text-fill transparent": '<span style="-webkit-text-fill-color:transparent">SECRET</span>',
    "overflow hidden hidden": '<div style="height:0;overflow:hidden hidden">SECRET</div>',
    "font-size calc(0px)": '<span style="font-size:calc(0px)">SECRET</span>',
    "filter opacity(0)": '<span style="filter:opacity(0)">SECRET</span>',
    "scale 0": '<span style="scale:0">SECRET</span>',
    "sheet !important beats inline": "<style>.x{display:none!important}</style>"
    '<p class="x" style="display:block">SECRET</p>',
    "display var(--h)": '<div style="--h:none;display:var(--h)">SECRET</div>',
    "svg width 0": '<svg width="0" height="0"><text x="0" y="10">SECRET</text></svg>',
    "svg fill none": '<svg><text fill="none" x="0" y="10">SECRET</text></svg>',
}

# What the issue asks for besides, and neighbours of the 18 that a blocklist would also miss.
MORE_TRICKS = {
    "descendant combinator": "<style>div.m > p span{display:none}</style><div class=m><p><span>SECRET</span></p></div>",
    "sibling combinator": '<style>h3 + p{visibility:hidden}</style><h3>title</h3><p class="z">SECRET</p>',
    "@media screen": "<style>@media screen{.x{display:none}}</style><p class=x>SECRET</p>",
    "@media min-width": "<style>@media (min-width:480px){#n{font-size:0}}</style><p id=n>SECRET</p>",
    "@supports": "<style>@supports (display:grid){.x{opacity:0}}</style><p class=x>SECRET</p>",
    "content-visibility hidden": '<div style="content-visibility:hidden">SECRET</div>',
    "rotateY 90deg": '<div style="transform:rotateY(90deg)">SECRET</div>',
    "rotate property x 90deg": '<div style="rotate:x 90deg">SECRET</div>',
    "zoom": '<div style="zoom:0.01">SECRET</div>',
    "closed details": "<details><summary>More</summary>SECRET</details>",
    "closed details paragraph": "<details><summary>More</summary><p>SECRET</p></details>",
    "font shorthand 0/0": '<span style="font:0/0 a">SECRET</span>',
    "var inherited from an ancestor": '<div style="--h:none"><p style="display:var(--h)">SECRET</p></div>',
    "var in a stylesheet": "<style>:root{--c:#fff}.w{color:var(--c)}</style><p class=w>SECRET</p>",
    "oklab near white": '<span style="color:oklab(0.99 0 0)">SECRET</span>',
    "lab near white": '<span style="color:lab(99 0 0)">SECRET</span>',
    "near white hex": '<span style="color:#f6f6f6">SECRET</span>',
    "rgb space syntax white": '<span style="color:rgb(255 255 255 / 100%)">SECRET</span>',
    "currentColor background": '<span style="color:#333;background:currentColor">SECRET</span>',
    "faint through nested opacity": '<div style="opacity:.2"><div style="opacity:.2">SECRET</div></div>',
    "translate property": '<div style="translate:-9999px 0">SECRET</div>',
    "matrix off-screen": '<div style="transform:matrix(1,0,0,1,-9999,0)">SECRET</div>',
    "matrix zero": '<div style="transform:matrix(0,0,0,0,0,0)">SECRET</div>',
    "mask image": '<span style="mask-image:linear-gradient(transparent,transparent)">SECRET</span>',
    "text-security": '<span style="-webkit-text-security:disc">SECRET</span>',
    "first-line white": "<style>p::first-line{color:#fff}</style><p>SECRET</p>",
    "unknown property": '<span style="frobnicate:1">SECRET</span>',
    "escaped property in a sheet": "<style>.a{\\64 isplay:none}</style><p class=a>SECRET</p>",
    "system colour Canvas": '<span style="color:Canvas">SECRET</span>',
    "dark ink on a dark cell": '<table><tr><td bgcolor="#111111"><span style="color:#222">SECRET</span>'
    "</td></tr></table>",
    "vertical-align far down": '<span style="vertical-align:-9999px">SECRET</span>',
    "negative letter-spacing": '<span style="letter-spacing:-50px">SECRET</span>',
    "IE alpha filter": '<span style="filter:alpha(opacity=0)">SECRET</span>',
    "math": "<math><mi>SECRET</mi></math>",
    "nested small": "<small>" * 12 + "SECRET" + "</small>" * 12,
    "CSS nesting": "<style>.card{padding:4px; & .x{display:none} .y{color:#fff}}</style>"
    '<div class="card"><p class="x">SECRET</p><p class="y">SECRET</p></div>',
    "calc nested 5000 deep": '<span style="font-size:calc('
    + "(" * 5000
    + "1px"
    + ")" * 5001
    + '">SECRET</span>',
    "line-height 0 clipped": '<div style="line-height:0;overflow:hidden">SECRET</div>',
    "text-indent 100% clipped": '<h2 style="text-indent:100%;white-space:nowrap;overflow:hidden">SECRET</h2>',
}


def _shown(html: str) -> str:
    markdown, _ = html_to_markdown(f"<div>before</div>{html}<div>after</div>")
    return markdown


@pytest.mark.parametrize("trick", [*PASSED_BEFORE, *MORE_TRICKS])
def test_suspect_text_is_left_out_and_counted(trick: str) -> None:
    markdown = _shown({**PASSED_BEFORE, **MORE_TRICKS}[trick])
    assert "SECRET" not in markdown
    assert markdown.startswith("before") and "after" in markdown  # only the suspect part goes
    counted = re.search(r"\[(\d+) characters of hidden or hard-to-see text left out", markdown)
    assert counted and int(counted.group(1)) >= len("SECRET")


# Ordinary email styling that the old blocklist hid (more in test_sanitise_policies.VISIBLE).
VISIBLE = {
    "font-size 0 wrapper reset by a child": '<table><tr><td style="font-size:0"><div style="display:inline-block;'
    'font-size:14px">SEEN</div></td></tr></table>',
    "link default blue inside white ink": '<div style="color:#fff"><a href="https://x.example">SEEN</a></div>',
    "visibility reset by a child": '<div style="visibility:hidden"><b style="visibility:visible">SEEN</b></div>',
}


@pytest.mark.parametrize("case", VISIBLE)
def test_ordinary_email_styling_stays_visible(case: str) -> None:
    markdown, _ = html_to_markdown(VISIBLE[case])
    assert "SEEN" in markdown and "left out" not in markdown


def _flat(markdown: str) -> str:
    return " ".join(markdown.replace("\\|", "|").replace("**", "").split())


def test_realistic_outlook_and_marketing_emails_keep_every_visible_sentence() -> None:
    outlook, _ = html_to_markdown(OUTLOOK_EMAIL)
    marketing, _ = html_to_markdown(marketing_email())
    for sentence in OUTLOOK_SENTENCES:
        assert sentence in _flat(outlook), sentence
    assert "left out" not in outlook  # nothing in it is hidden
    for sentence in MARKETING_SENTENCES:
        assert sentence in _flat(marketing), sentence
    # The preheader and the mobile-only line are hidden on a desktop, and counted.
    assert "Your numbers for March" not in marketing and "Tap to open" not in marketing
    hidden = len("Your numbers for March are in") + len("Tap to open the report in the app")
    assert f"[{hidden} characters of hidden or hard-to-see text left out" in marketing


def test_a_cached_stylesheet_is_judged_against_each_body() -> None:
    """Parsed stylesheets are reused across bodies; whether an attribute selector can match is not."""
    css = "<style>[data-flag] .note{display:none}" + ".pad{padding:1px}" * 200 + "</style>"
    without, _ = html_to_markdown(css + '<div><p class="note">SEEN</p></div>')
    flagged, _ = html_to_markdown(css + '<div data-flag="1"><p class="note">SECRET</p></div>')
    assert "SEEN" in without and "SECRET" not in flagged


def test_style_blocks_too_big_to_read_leave_the_text_out_and_say_why() -> None:
    # ~70k CSS tokens of ordinary rules: more than the budget the server spends reading CSS.
    css = ".c{padding:0 10px;color:#333} " * 7_000
    markdown, _ = html_to_markdown(f"<style>{css}</style><p>customer text</p>")
    assert "customer text" not in markdown
    assert "<style> blocks are too large to tell what a reader sees" in markdown
    assert "13 characters of text are left out" in markdown


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    css=st.text(
        alphabet=st.sampled_from(list("@{}()[]:;,.#>+~*!/\\\"' -_%0159aceilnoprstxdvh\n")), max_size=400
    ),
    inline=st.text(alphabet=st.sampled_from(list(":;()#,.%-/ 019acdeilnoprstxvwzh!\\")), max_size=80),
    trick=st.sampled_from(sorted(PASSED_BEFORE)),
)
def test_random_css_never_raises_or_reveals_suspect_text(css: str, inline: str, trick: str) -> None:
    clean = css.replace("</", "")
    markdown, _ = html_to_markdown(
        f'<style>{clean}</style><p style="{inline.replace(chr(34), "")}">x</p>{PASSED_BEFORE[trick]}'
    )
    assert "SECRET" not in markdown


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["color", "COLOR", "display", "font-size", "--v", "margin", "opacity", "x-y", "padding"]
            ),
            st.text(alphabet=st.sampled_from(list('#0af1 .%pxnoeblck(),!importan:;\\"/*-')), max_size=16),
        ),
        max_size=5,
    )
)
def test_plain_style_attributes_split_as_the_tokenizer_reads_them(items: list[tuple[str, str]]) -> None:
    """The fast path for style attributes (no tokenizer for the split) agrees with tinycss2."""
    from pylon_mcp.render.css import ParseCache, declarations
    from pylon_mcp.render.visibility import relevant_name

    style = ";".join(f"{name}:{value}" for name, value in items)
    fast = ParseCache(lambda _: None).style(style, relevant_name)
    slow = [d for d in declarations(style) if relevant_name(d.name)]

    def plain(found: list) -> list:
        import tinycss2

        return [(d.name, tinycss2.serialize(d.value).strip(), d.important) for d in found]

    assert plain(fast) == plain(slow)


def _rules(sheet: object) -> list:
    import tinycss2

    found = []
    for key, rules in sheet.by_key.items():  # type: ignore[attr-defined]
        for rule in rules:
            selector = rule.selector
            declared = tuple((d.name, tinycss2.serialize(d.value), d.important) for d in rule.declarations)
            found.append(
                (key, selector.specificity, [p.tag for p in selector.parts], selector.combinators, declared)
            )
    return sorted(found, key=repr)


_CSS_PIECES = [
    *"@{}()[]:;,.#>+~*!/\"' -_%0159acdeilnoprstxvh\n<>",
    *("@media ", "@media(", "(max-width:600px)", "@font-face", "display:none", "color:#fff", "/*", "*/"),
    *("<!--", "-->", "url(", "@import ", "print"),
]


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_CSS_PIECES), max_size=40).map("".join))
def test_the_fast_outline_reads_stylesheets_as_tinycss2_does(css: str) -> None:
    """Only rules that matter are tokenized (css_outline); the rules kept are exactly tinycss2's."""
    from unittest import mock

    from pylon_mcp.render import css as css_module
    from pylon_mcp.render.visibility import relevant, relevant_name

    fast = css_module.parse_stylesheet([css], relevant, relevant_name)
    with mock.patch.object(css_module, "outline", return_value=None):
        slow = css_module.parse_stylesheet([css], relevant, relevant_name)
    assert _rules(fast) == _rules(slow)
