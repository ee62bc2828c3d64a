"""vCard and iCalendar content lines: unfolding, parameters, escapes (RFC 6350, RFC 5545)."""
from __future__ import annotations

from dataclasses import dataclass, field

_ESCAPES = {"n": "\n", "N": "\n", "\\": "\\", ",": ",", ";": ";"}


@dataclass
class Line:
    """One property: its name (upper case), parameters (upper-case names) and raw value."""

    name: str
    params: dict[str, list[str]]
    value: str

    def param(self, name: str) -> str:
        """Return the first value of a parameter, or ""."""
        values = self.params.get(name.upper())
        return values[0] if values else ""

    def types(self) -> list[str]:
        """Return the TYPE parameter's values, lower case (vCard 3 and 4 spellings)."""
        found = [t.lower() for value in self.params.get("TYPE", []) for t in value.split(",")]
        found += [name.lower() for name, values in self.params.items() if values == [""]
                  and name not in ("TYPE", "VALUE")]  # vCard 2.1: TEL;HOME;VOICE:…
        return [t for t in found if t and t != "pref"]

    @property
    def text(self) -> str:
        """Return the value with its escapes undone."""
        return unescape(self.value)

    def parts(self) -> list[str]:
        """Return the ;-separated components of a structured value, each unescaped."""
        return [unescape(p) for p in split(self.value, ";")]


@dataclass
class Component:
    """A BEGIN…END block (VCARD, VEVENT…) with its lines and the blocks inside it."""

    name: str
    lines: list[Line] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def first(self, name: str) -> Line | None:
        """Return the first property called `name`, or None."""
        return next((line for line in self.lines if line.name == name), None)

    def all(self, name: str) -> list[Line]:
        """Return every property called `name`."""
        return [line for line in self.lines if line.name == name]

    def value(self, name: str) -> str:
        """Return the unescaped text of the first property called `name`, or ""."""
        line = self.first(name)
        return line.text.strip() if line else ""


def unescape(value: str) -> str:
    """Undo the backslash escapes of a text value (\\n, \\, \\; \\\\)."""
    if "\\" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            out.append(_ESCAPES.get(value[i + 1], value[i + 1]))
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def split(value: str, sep: str) -> list[str]:
    """Split a raw value on `sep`, leaving escaped separators (\\;) inside their part."""
    parts, current, i = [], [], 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            current.append(value[i:i + 2])
            i += 2
            continue
        if char == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def unfold(text: str) -> list[str]:
    """Return the logical lines of a text: a line starting with a space or tab continues the last."""
    lines: list[str] = []
    for physical in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if physical[:1] in (" ", "\t") and lines:
            lines[-1] += physical[1:]
        elif physical.strip():
            lines.append(physical)
    return lines


def parse_line(text: str) -> Line | None:
    """Return a content line's name, parameters and value; None if it has no colon."""
    params: dict[str, list[str]] = {}
    i, length = 0, len(text)
    while i < length and text[i] not in ";:":
        i += 1
    name = text[:i].upper().split(".")[-1]  # "item1.EMAIL" (Apple's groups) is an EMAIL
    while i < length and text[i] == ";":
        i += 1
        start = i
        while i < length and text[i] not in "=;:":
            i += 1
        pname = text[start:i].upper()
        values: list[str] = []
        if i < length and text[i] == "=":
            i += 1
            while True:
                if i < length and text[i] == '"':
                    end = text.find('"', i + 1)
                    if end < 0:
                        return None
                    values.append(text[i + 1:end])
                    i = end + 1
                else:
                    start = i
                    while i < length and text[i] not in ",;:":
                        i += 1
                    values.append(text[start:i])
                if i < length and text[i] == ",":
                    i += 1
                    continue
                break
        else:
            values.append("")
        params.setdefault(pname, []).extend(values)
    if i >= length or text[i] != ":" or not name:
        return None
    return Line(name, params, text[i + 1:])


def components(text: str) -> list[Component]:
    """Return the top-level components of a vCard or iCalendar text; bad lines are skipped."""
    roots: list[Component] = []
    stack: list[Component] = []
    for raw in unfold(text):
        line = parse_line(raw)
        if line is None:
            continue
        if line.name == "BEGIN":
            block = Component(line.value.strip().upper())
            (stack[-1].children if stack else roots).append(block)
            stack.append(block)
        elif line.name == "END":
            if stack:
                stack.pop()
        elif stack:
            stack[-1].lines.append(line)
    return roots
