"""Markdown to HTML for notes, with the writer's own HTML shown as text, never run."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@functools.cache
def _renderer() -> MarkdownIt:
    # Loaded at the first note shown, not at start: an idle box keeps ~1 MiB less.
    from markdown_it import MarkdownIt

    # html=False: tags typed in a note are escaped, so a note can't carry a script.
    # markdown-it also refuses javascript:, vbscript:, file: and data: links by itself.
    return MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(
        ["table", "strikethrough"])


def to_html(text: str) -> str:
    """Return the HTML of a note's Markdown (safe to put in a page as is)."""
    html: str = _renderer().render(text)
    return html
