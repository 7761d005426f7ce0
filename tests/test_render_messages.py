"""Trimming quoted email history and signatures from message Markdown."""

from __future__ import annotations

import pytest

from pylon_mcp.render.messages import trim_email


@pytest.mark.parametrize(
    ("markdown", "kept", "removed"),
    [
        ("Fixed, thanks.\n\nOn Mon, 4 May 2026 at 10:02, Ann <a@x.example> wrote:\n> Any news?",
         "Fixed, thanks.", ("quoted history",)),
        ("Merci.\n\nLe lun. 4 mai 2026 à 10:02, Ann <a@x.example> a écrit :\n> Des nouvelles ?",
         "Merci.", ("quoted history",)),
        ("See below.\n\n**From:** Ann Lee\n**Sent:** Monday\n**Subject:** Re: export\n\nold text",
         "See below.", ("quoted history",)),
        ("Works now.\n\n> earlier line\n> another", "Works now.", ("quoted history",)),
        ("Thanks,\nKai\n\n-- \nKai Larsen\nGlobex", "Thanks,\nKai", ("signature",)),
        ("All good.\n\nBest,\nJo\n\n--\nJo | Support\n\nOn Tue, 5 May, Kai wrote:\n> hi",
         "All good.\n\nBest,\nJo", ("quoted history", "signature")),
    ],
)  # fmt: skip
def test_trims_quotes_and_signatures(markdown: str, kept: str, removed: tuple[str, ...]) -> None:
    trimmed = trim_email(markdown)
    assert trimmed.text == kept and trimmed.removed == removed


@pytest.mark.parametrize(
    "markdown",
    [
        "From: 10:00 to 12:00 the API was down.\nThen it came back.",  # not an Outlook header
        "Our outage report:\nFrom: the monitoring team\nAll green since.",
        "> a message that is only a quote",  # nothing would be left: keep it all
        "Plain message with -- dashes -- inside.",
    ],
)
def test_leaves_ordinary_text_alone(markdown: str) -> None:
    assert trim_email(markdown).text == markdown and trim_email(markdown).removed == ()
