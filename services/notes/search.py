"""Finding notes by their words, ignoring case and accents ("ete" finds "Été")."""
from __future__ import annotations

from dataclasses import dataclass

from appliance.files.names import fold
from services.notes.notebook import Note

BEFORE = 40   # characters of context shown before a match
AFTER = 80    # and after it


@dataclass(frozen=True)
class Hit:
    """A note that matches, with the words around the first match."""

    note: Note
    before: str
    match: str
    after: str


def folded_with_map(text: str) -> tuple[str, list[int]]:
    """Return text folded, and for each folded character the index it came from in text."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        piece = fold(char)
        folded.append(piece)
        origin.extend([index] * len(piece))
    return "".join(folded), origin


def find(notes: list[tuple[Note, str]], query: str) -> list[Hit]:
    """Return the notes holding every word of the query (in the title or the text)."""
    words = fold(query).split()
    if not words:
        return []
    hits = []
    for note, text in notes:
        folded, origin = folded_with_map(text)
        haystack = folded + "\n" + fold(note.title + " " + note.entry.name)
        if not all(word in haystack for word in words):
            continue
        at = folded.find(words[0])
        if at < 0:
            hits.append(Hit(note, "", "", text[:AFTER].strip()))
            continue
        start, end = origin[at], origin[at + len(words[0]) - 1] + 1
        lead = text[max(0, start - BEFORE):start]
        hits.append(Hit(note, ("…" if start > BEFORE else "") + lead.lstrip(),
                        text[start:end], text[end:end + AFTER].rstrip()))
    return hits
