"""The two sanitising policies: `inbound` (Pylon's HTML → Markdown a model reads) hides what a person
would not see; `outbound` (our HTML → Pylon) keeps no style, loads nothing remote, allows safe URLs only.
Also include=["raw_html"], which is a view for the model, not a byte copy."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pylon_mcp.render.html import (
    INBOUND,
    OUTBOUND,
    html_to_markdown,
    markdown_to_html,
    sanitize_outbound,
)
from pylon_mcp.render.nesting import limit_nesting
from pylon_mcp.render.raw_view import raw_html_view
from pylon_mcp.sandbox import Sandbox
from tests.mcp_helpers import connect, ok, text

# Every trick a customer (or an attacker writing as one) can use to put text in front of the model
# that a person reading the email would not see. Each wraps the word SECRET.
HIDING_TRICKS = {
    "display none": '<div style="display:none">SECRET</div>',
    "hidden attribute": "<p hidden>SECRET</p>",
    "visibility hidden": '<span style="visibility: hidden">SECRET</span>',
    "opacity 0": '<span style="opacity:0">SECRET</span>',
    "opacity 0.01": '<span style="opacity:.01">SECRET</span>',
    "font-size 0": '<span style="font-size:0">SECRET</span>',
    "font-size 0px important": '<span style="font-size: 0px !important">SECRET</span>',
    "white on white page": '<span style="color:#ffffff">SECRET</span>',
    "white on white background": '<div style="background:white"><i style="color:rgb(255,255,255)">SECRET</i></div>',
    "black on black": '<p style="background:#000;color:#010101">SECRET</p>',
    "transparent colour": '<span style="color:transparent">SECRET</span>',
    "rgba alpha 0": '<span style="color:rgba(0,0,0,0)">SECRET</span>',
    "hsl white": '<span style="color:hsl(0, 0%, 100%)">SECRET</span>',
    "font tag white": '<font color="#fff">SECRET</font>',
    "off-screen absolute": '<div style="position:absolute;left:-9999px">SECRET</div>',
    "off-screen fixed top": '<div style="position:fixed;top:-5000px">SECRET</div>',
    "zero height overflow hidden": '<div style="height:0;overflow:hidden">SECRET</div>',
    "1px box overflow hidden": '<div style="width:1px;height:1px;overflow:hidden">SECRET</div>',
    "max-height 0": '<div style="max-height:0px;overflow:hidden">SECRET</div>',
    "clip-path": '<span style="clip-path: inset(50%)">SECRET</span>',
    "clip rect": '<span style="position:absolute;clip:rect(0 0 0 0)">SECRET</span>',
    "transform scale 0": '<span style="transform:scale(0)">SECRET</span>',
    "transform scaleY 0": '<span style="display:inline-block;transform: scaleY(0)">SECRET</span>',
    "text-indent": '<p style="text-indent:-9999px">SECRET</p>',
    "aria-hidden": '<span aria-hidden="true">SECRET</span>',
    "css escape": '<p style="dis\\play:none">SECRET</p>',
    "css hex escape": '<p style="display:\\6e one">SECRET</p>',
    "css comment": '<p style="display:/**/none">SECRET</p>',
    "upper case": '<p STYLE="DISPLAY: NONE">SECRET</p>',
    "entity in style": '<p style="display&#58;none">SECRET</p>',
    "noscript": "<noscript>SECRET</noscript>",
    "textarea": "<textarea>SECRET</textarea>",
    "title": "<title>SECRET</title>",
    "object": '<object data="x.swf">SECRET</object>',
    "iframe": "<iframe>SECRET</iframe>",
    "option": "<select><option>SECRET</option></select>",
    "template": "<template>SECRET</template>",
    "script": "<script>SECRET</script>",
    "style": "<style>SECRET</style>",
    "comment": "<!-- SECRET -->",
    "hidden ancestor": '<div style="opacity:0"><p><b>SECRET</b></p></div>',
    "inherited white on a white box": '<div style="color:#fff;background:#000"><p style="background:#fff">SECRET</p>'
    "</div>",
    "white run beside a dark one": '<p style="color:#fff">SECRET<b style="color:#000">shown</b></p>',
    "unknown element": '<x-note style="display:none">SECRET</x-note>',
    "html5 element outside the text list": '<section style="opacity:0">SECRET</section>',
    "broken tag name": '<a<div style="visibility:hidden">SECRET</a<div>',
    "stylesheet class": '<style>.note { display: none }</style><p class="note">SECRET</p>',
    "stylesheet id": "<style>#n{font-size:0}</style><p id=n>SECRET</p>",
    "stylesheet tag.class, escaped": '<style>p.x, .y{v\\isibility:hidden}</style><p class="a x">SECRET</p>',
    "stylesheet white class": "<style>.w{color:#FFF}</style><span class=w>SECRET</span>",
}


@pytest.mark.parametrize("trick", HIDING_TRICKS)
def test_inbound_hides_what_a_reader_cannot_see(trick: str) -> None:
    markdown, _ = html_to_markdown(f"<p>before</p>{HIDING_TRICKS[trick]}<p>after</p>")
    assert "SECRET" not in markdown
    assert "before" in markdown and "after" in markdown  # only the hidden part goes


VISIBLE = {
    "plain colour": '<span style="color:#333">SEEN</span>',
    "white on dark": '<div style="background:#202020"><span style="color:#fff">SEEN</span></div>',
    "bgcolor dark cell": '<table><tr><td bgcolor="#000000"><font color="white">SEEN</font></td></tr></table>',
    "later declaration wins": '<p style="display:none;display:block">SEEN</p>',
    "opacity 1": '<span style="opacity:1">SEEN</span>',
    "small but readable": '<span style="font-size:11px">SEEN</span>',
    "relative negative margin": '<p style="margin-left:-10px">SEEN</p>',
    "aria-hidden false": '<span aria-hidden="false">SEEN</span>',
    "scale 1": '<span style="transform:scale(1)">SEEN</span>',
    "dark text inside a white-ink box": '<div style="color:#fff">x<span style="color:#333">SEEN</span></div>',
    "stylesheet white on dark class": "<style>.d{background:#111}.w{color:#fff}</style>"
    '<div class="d"><span class="w">SEEN</span></div>',
    "media query rules are not applied": "<style>@media (max-width:600px){.desk{display:none}}</style>"
    '<p class="desk">SEEN</p>',
    "inline style overrides the sheet": '<style>.n{display:none}</style><p class="n" style="display:block">SEEN</p>',
    # Ordinary email styling the allowlist must keep (docs/hiding-policy.md).
    "mobile media query": "<style>@media only screen and (max-width:600px){.d{display:none!important}}</style>"
    "<p class=d>SEEN</p>",
    "dark-mode media query": "<style>@media (prefers-color-scheme:dark){.t{color:#fff!important}}</style>"
    "<p class=t>SEEN</p>",
    "print media": "<style>@media print{.n{display:none}}</style><p class=n>SEEN</p>",
    "Outlook.com dark mode attribute": "<style>[data-ogsc] .t{color:#fafafa!important}</style><p class=t>SEEN</p>",
    "hover state": "<style>p:hover{display:none}</style><p>SEEN</p>",
    "before pseudo-element": '<style>p::before{content:"";display:none}</style><p>SEEN</p>',
    "light grey footer": '<p style="color:#999999;font-size:11px">SEEN</p>',
    "muted opacity": '<p style="opacity:.7">SEEN</p>',
    "legacy bgcolor without #": '<table><tr><td bgcolor="000000"><font color="ffffff">SEEN</font></td></tr></table>',
    "white on a gradient": '<div style="background:linear-gradient(#1b1f3b,#333)">'
    '<span style="color:#fff">SEEN</span></div>',
    "open details": "<details open><summary>s</summary>SEEN</details>",
    "summary of closed details": "<details><summary>SEEN</summary></details>",
    "small rotation": '<span style="display:inline-block;transform:rotate(-2deg) scale(1.05)">SEEN</span>',
    "centred column": '<div style="margin:0 auto;max-width:600px;width:100%;padding:0 16px">SEEN</div>',
    "hanging indent": '<p style="margin-left:36pt;text-indent:-18pt">SEEN</p>',
    "relative nudge": '<span style="position:relative;top:-2px;left:1px">SEEN</span>',
    "mso and vendor properties": '<p style="mso-line-height-rule:exactly;mso-hide:none;-webkit-text-size-adjust:100%;'
    '-ms-text-size-adjust:100%;-webkit-font-smoothing:antialiased;tab-stops:45.8pt">SEEN</p>',
    "windowtext": '<span style="color:windowtext">SEEN</span>',
    "var with fallback": '<p style="color:var(--missing, #333)">SEEN</p>',
    "calc font size": '<p style="font-size:calc(12px + 0.2vw)">SEEN</p>',
    "hsl dark": '<span style="color:hsl(220deg 30% 20%)">SEEN</span>',
    "clipping a normal box": '<div style="overflow:hidden;height:200px;width:300px">SEEN</div>',
    "small print": "<p><small>SEEN <sup>1</sup></small></p>",
    "centred by translate": '<div style="position:absolute;left:50%;top:50%;transform:translate(-50%,-50%)">SEEN</div>',
}


@pytest.mark.parametrize("case", VISIBLE)
def test_inbound_keeps_what_a_reader_sees(case: str) -> None:
    markdown, _ = html_to_markdown(VISIBLE[case])
    assert "SEEN" in markdown


def test_policies_are_two_named_things_with_different_allowlists() -> None:
    assert (INBOUND.name, OUTBOUND.name) == ("inbound", "outbound")
    assert INBOUND.attributes is not OUTBOUND.attributes and INBOUND.tags is not OUTBOUND.tags
    outbound_attributes = set().union(*OUTBOUND.attributes.values())
    assert not outbound_attributes & {"style", "src", "srcset", "background", "poster"}
    assert "img" not in OUTBOUND.tags


def test_outbound_keeps_no_style_and_loads_nothing_remote() -> None:
    sent = sanitize_outbound(
        '<p style="background:url(https://evil.example/x)">hi</p>'
        '<img src="https://evil.example/pixel.gif"><div background="https://evil.example/bg">x</div>'
        '<table><tr><td style="background-image:url(//evil.example/y)">c</td></tr></table>'
        '<a href="https://ok.example/a">ok</a> <a href="javascript:alert(1)">js</a> '
        '<a href="data:text/html,x">data</a> <a href="mailto:s@x.example">mail</a>'
        '<a href="//evil.example/x">scheme-relative</a> <a href="/path">relative</a>'
    )
    assert "style" not in sent and "evil.example" not in sent and "<img" not in sent
    assert '<a href="https://ok.example/a">ok</a>' in sent and 'href="mailto:s@x.example"' in sent
    assert "javascript" not in sent and "data:" not in sent and "/path" not in sent


def test_outbound_markdown_images_become_links() -> None:
    assert (
        markdown_to_html("![chart](https://x.example/c.png)")
        == '<p><a href="https://x.example/c.png">chart</a></p>'
    )


@given(st.text(alphabet=st.sampled_from(list("<>/=\"' abcdefghijklmnopqrstuvwxyz:;()-#0")), max_size=300))
def test_outbound_never_emits_style_or_remote_loads(html: str) -> None:
    sent = sanitize_outbound(html)
    assert " style=" not in sent and " src=" not in sent and "<img" not in sent


def test_deep_nesting_is_cut_not_parsed_and_never_reveals_hidden_text() -> None:
    deep = '<div style="display:none">' + "<div>" * 30_000 + "SECRET" + "</div>" * 30_001 + "<p>after</p>"
    guarded = limit_nesting(deep)
    assert guarded.removed_chars and "SECRET" not in guarded.html
    markdown, _ = html_to_markdown(deep)
    assert "SECRET" not in markdown and "after" in markdown
    assert "levels deep are left out" in markdown and "raw_html" in markdown
    # Stray end tags do not fool the depth count.
    sneaky = ("<div></span>" * 5000) + "x"
    assert limit_nesting(sneaky).removed_chars


# --- include=["raw_html"] -------------------------------------------------------------

RAW_HOSTILE = (
    "<p>Hi\u200b \u202eevil\u202c\U000e0041\ufeff\x00\x1b[31m</p>"
    '<a href="javascript:alert(1)">a</a> <a href="JaVa&#x09;ScRiPt:alert(2)">b</a> '
    "<a href='vbscript:x'>c</a> <a href=data:text/html;base64,PHNjcmlwdD4=>d</a> "
    '<img src="x" onerror="alert(3)" ONLOAD=go()> <iframe srcdoc="<script>x</script>"></iframe>'
    "<img/onerror=alert(4) src=y>"
    '<a href="https://ok.example/p?q=1">ok</a>'
)


def test_raw_html_is_a_view_without_invisible_characters_or_active_urls() -> None:
    view = raw_html_view(RAW_HOSTILE)
    for bad in ("\u200b", "\u202e", "\u202c", "\U000e0041", "\ufeff", "\x00", "\x1b"):
        assert bad not in view, repr(bad)
    lowered = view.lower()
    assert "javascript" not in lowered and "vbscript:" not in lowered and "data:text" not in lowered
    assert "onerror" not in lowered and "onload" not in lowered and "srcdoc" not in lowered
    assert '<a href="https://ok.example/p?q=1">ok</a>' in view and "<p>Hi evil[31m</p>" in view


# Issue 19, item 8: active content in every spelling a browser accepts. The first five survived the
# old pattern-based view (an attribute right after a closing quote, single quotes, SVG animation).
ACTIVE_PAYLOADS = [
    '<img src="x"onerror=alert(1)>',
    '<a title="t"href="javascript:alert(1)">x</a>',
    "<img src=x onerror='alert(1)'>",
    '<svg><animate attributeName="href" values="javascript:alert(1)"/><a><text>x</text></a></svg>',
    '<svg><set attributeName="href" to="javascript:alert(1)"/></svg>',
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<svg onload="alert(1)">', "<svg/onload=alert(1)>", '<body onload="alert(1)">',
    "<script>alert(1)</script>", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<iframe src="javascript:alert(1)"></iframe>', '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>', '<embed src="javascript:alert(1)">',
    '<a href="JaVaScRiPt:alert(1)">x</a>', '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>', '<a href=" javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>', '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    '<button formaction="javascript:alert(1)">x</button>', '<input onfocus=alert(1) autofocus>',
    '<details open ontoggle=alert(1)>', '<math><a xlink:href="javascript:alert(1)">x</a></math>',
    '<p style="background:url(javascript:alert(1))">x</p>', '<p style="width:expression(alert(1))">x</p>',
    '<div style="behavior:url(x.htc)">x</div>', '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">', '<link rel="stylesheet" href="javascript:alert(1)">',
    '<img src=x:alert(alt) onerror=eval(src) alt=0>', "<a href='javas\u0000cript:alert(1)'>x</a>",
]  # fmt: skip
_ACTIVE = re.compile(
    r"(?:java|vb)script|data:|expression|behavior|<(?:script|iframe|object|embed|svg|math|meta|base|link|form|"
    r"input|button)|[\s/\"']on[a-z]+\s*=|srcdoc|formaction",
    re.IGNORECASE,
)


@pytest.mark.parametrize("payload", ACTIVE_PAYLOADS)
def test_raw_html_view_is_inert(payload: str) -> None:
    view = raw_html_view(f"<p>before</p>{payload}<p>after</p>")
    assert not _ACTIVE.search(view), view
    assert "<p>before</p>" in view and "<p>after</p>" in view  # the structure around it stays


def test_raw_html_view_keeps_structure_styles_and_safe_links() -> None:
    html = ('<table class="t"><tr><td colspan="2" style="color: red">cell</td></tr></table>'
            '<a href="https://ok.example/x" title="t">ok</a><img src="cid:logo" alt="logo"><b>bold</b>')  # fmt: skip
    view = raw_html_view(html)
    assert '<td colspan="2" style="color: red">cell</td>' in view and '<table class="t">' in view
    assert (
        '<a href="https://ok.example/x" title="t">ok</a>' in view
        and '<img src="cid:logo" alt="logo">' in view
    )


@pytest.mark.anyio
@pytest.mark.parametrize("number", ["21", "34", "55"])
async def test_raw_html_over_mcp_is_neutralised(sandbox_url: str, sandbox: Sandbox, number: str) -> None:
    record = sandbox.store.find(number)
    async with connect(sandbox_url) as client:
        result = await ok(client, "get_issue", {"issue_id": number, "include": ["raw_html"]})
    shown = (result.structured_content or {})["body"]["text"]
    assert shown == raw_html_view(record.body_html) and shown in text(result)
    assert not re.search("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\x00\x1b]", shown)
    assert not re.search(r"(?:java|vb)script:|data:text|\son\w+=", shown, re.IGNORECASE)


WRAPPERS = [
    ("<div>", "</div>"),
    ("<p>", "</p>"),
    ("<span>", "</span>"),
    ("<b>", "</b>"),
    ('<div style="color:#222;background:#fff">', "</div>"),
    ('<span style="font-size:14px">', "</span>"),
    ("<table><tr><td>", "</td></tr></table>"),
    ("<ul><li>", "</li></ul>"),
    ("<blockquote>", "</blockquote>"),
    ("<a href='https://ok.example'>", "</a>"),
]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    trick=st.sampled_from(sorted(HIDING_TRICKS)),
    outer=st.lists(st.sampled_from(WRAPPERS), max_size=6),
    # Inline only: a block inside <p> closes the p in every parser, so a browser would show it too.
    inner=st.lists(st.sampled_from([("<span>", "</span>"), ("<b>", "</b>"), ("<em>", "</em>")]), max_size=3),
    noise=st.text(alphabet="abc <>/\"'=;:", max_size=30),
)
def test_hidden_text_stays_hidden_inside_any_wrapping(
    trick: str, outer: list[tuple[str, str]], inner: list[tuple[str, str]], noise: str
) -> None:
    hidden = HIDING_TRICKS[trick]
    if inner and hidden.startswith("<") and "SECRET" in hidden and not hidden.startswith(("<style", "<!--")):
        wrapped = "".join(o for o, _ in inner) + "SECRET" + "".join(c for _, c in reversed(inner))
        hidden = hidden.replace("SECRET", wrapped, 1)
    html = (
        "".join(o for o, _ in outer)
        + noise.replace("SECRET", "")
        + hidden
        + "".join(c for _, c in reversed(outer))
    )
    markdown, _ = html_to_markdown(html)
    assert "SECRET" not in markdown


def test_the_depth_guard_reads_tags_as_the_html_tokenizer_does() -> None:
    # `<div a=<>` is a div whose attribute value is "<": html5ever nests 3000 of them.
    assert limit_nesting("<div a=<>x" * 3000).removed_chars
    # `>` inside a quoted value does not end the tag; 3000 such divs still nest 3000 deep.
    assert limit_nesting('<div title="a>b">' * 3000).removed_chars
    # Unclosed start tags are one tag's attributes, not 3000 elements.
    assert not limit_nesting("<p>ok</p>" + '<b "' * 3000 + ">").removed_chars


def test_every_format_character_is_removed_except_the_visible_ones_named() -> None:
    # Issue 19, item 8: U+FFF9-FFFB, U+1BCA0-1BCA3 and U+1D173-1D17A survived. Python's Unicode
    # database decides what is Cf; KEPT_FORMAT_CHARACTERS (named in the README) are drawn visibly.
    import sys
    import unicodedata

    from pylon_mcp.render.text import KEPT_FORMAT_CHARACTERS, strip_invisible

    format_characters = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    survivors = [f"U+{ord(c):04X}" for c in format_characters if strip_invisible(f"a{c}b") != "ab"]
    assert sorted(survivors) == sorted(f"U+{ord(c):04X}" for c in KEPT_FORMAT_CHARACTERS)
    assert all(unicodedata.category(c) == "Cf" for c in KEPT_FORMAT_CHARACTERS)
    hostile = "<p>a\ufff9b\U0001bca0c\U0001d173d&#xfffa;e</p>"
    assert raw_html_view(hostile) == "<p>abcde</p>" and html_to_markdown(hostile)[0] == "abcde"
