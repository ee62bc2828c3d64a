"""What Hearth keeps of a vCard (io.hearth.contacts) and of an iCalendar event (io.hearth.events)."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.connectors.dav.text import Component, Line, components

# A record travels as one JSON line of at most 256 KiB: past these sizes (as JSON) a
# vCard with a big photo keeps no raw copy and a huge description is cut.
MAX_RAW = 150 * 1024
MAX_TEXT = 32 * 1024
MASTER = "*"  # the `instance` of an event's main occurrence (overrides carry their RECURRENCE-ID)
_DURATION = re.compile(r"([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


class RecordError(ValueError):
    """A vCard or event holds a value no record can keep (a date past year 9999)."""


def _raw(text: str) -> str | None:
    return text if len(json.dumps(text)) <= MAX_RAW else None


def _cut(text: str) -> str:
    return text if len(json.dumps(text)) <= MAX_TEXT else text[:MAX_TEXT // 6] + "…"


def contacts(text: str) -> list[dict[str, Any]]:
    """Return a record for each vCard of a text (a CardDAV resource holds one)."""
    return [_contact(card, text) for card in components(text) if card.name == "VCARD"]


def _contact(card: Component, text: str) -> dict[str, Any]:
    n_line = card.first("N")
    names = (n_line.parts() if n_line else []) + [""] * 5
    org = card.first("ORG")
    full_name = card.value("FN") or " ".join(p for p in (names[3], names[1], names[0],
                                                           names[4]) if p)
    return {
        "uid": card.value("UID"),
        "full_name": full_name,
        "names": {"family": names[0], "given": names[1], "additional": names[2],
                  "prefix": names[3], "suffix": names[4]},
        "emails": [{"address": e.text.strip(), "types": e.types()} for e in card.all("EMAIL")
                   if e.text.strip()],
        "phones": [{"number": _uri_less(p.text.strip()), "types": p.types()}
                   for p in card.all("TEL") if p.text.strip()],
        "addresses": [_address(a) for a in card.all("ADR")],
        "organization": " / ".join(p for p in org.parts() if p) if org else "",
        "birthday": _birthday(card.value("BDAY")),
        "raw": _raw(text),
    }


def _uri_less(number: str) -> str:
    return number[4:] if number.lower().startswith("tel:") else number


def _address(line: Line) -> dict[str, Any]:
    parts = line.parts() + [""] * 7
    return {"po_box": parts[0], "extended": parts[1], "street": parts[2], "city": parts[3],
            "region": parts[4], "postcode": parts[5], "country": parts[6],
            "types": line.types()}


def _birthday(value: str) -> str | None:
    """Return a birthday as YYYY-MM-DD, or --MM-DD when the year is unknown."""
    digits = value.split("T")[0].replace("-", "")
    if re.fullmatch(r"\d{8}", digits):
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    if re.fullmatch(r"\d{4}", digits) and value.startswith("--"):
        return f"--{digits[:2]}-{digits[2:]}"
    return value or None


def events(text: str) -> list[dict[str, Any]]:
    """Return a record for each VEVENT of a calendar resource (overrides included)."""
    found = []
    for calendar in components(text):
        for block in calendar.children:
            if block.name == "VEVENT":
                found.append(_event(block, text))
    return found


def _event(block: Component, text: str) -> dict[str, Any]:
    start_line = block.first("DTSTART")
    start, all_day = _when(start_line)
    end, _ = _when(block.first("DTEND") or block.first("DUE"))
    if end is None and start is not None:
        end = _plus(start, block.value("DURATION"), all_day)
    recurrence, rrule = block.first("RECURRENCE-ID"), block.first("RRULE")
    return {
        "uid": block.value("UID"),
        "instance": recurrence.value.strip() if recurrence else MASTER,
        "summary": _cut(block.value("SUMMARY")),
        "start": start, "end": end, "all_day": all_day,
        "timezone": start_line.param("TZID") if start_line else "",
        "location": _cut(block.value("LOCATION")),
        "description": _cut(block.value("DESCRIPTION")),
        "rrule": rrule.value.strip() if rrule else None,
        "status": block.value("STATUS").lower() or None,
        "raw": _raw(text),
    }


def _when(line: Line | None) -> tuple[str | None, bool]:
    """Return a DTSTART/DTEND as ISO 8601 (with its UTC offset when known) and whether it is a date."""
    if line is None:
        return None, False
    value = line.value.strip()
    if line.param("VALUE").upper() == "DATE" or re.fullmatch(r"\d{8}", value):
        try:
            return datetime.strptime(value[:8], "%Y%m%d").date().isoformat(), True
        except ValueError:
            return None, True
    try:
        moment = datetime.strptime(value.rstrip("Zz"), "%Y%m%dT%H%M%S")
    except ValueError:
        return None, False
    if value[-1:] in "Zz":
        moment = moment.replace(tzinfo=timezone.utc)
    elif line.param("TZID"):
        try:
            moment = moment.replace(tzinfo=ZoneInfo(line.param("TZID").strip("/")))
        except (ZoneInfoNotFoundError, ValueError):
            pass  # an invented zone name (Outlook's "Romance Standard Time"): kept floating
    return moment.isoformat(), False


def _plus(start: str, duration: str, all_day: bool) -> str | None:
    """Return start + an iCalendar DURATION; an all-day event without one lasts a day."""
    match = _DURATION.match(duration.strip())
    if not match and not all_day:
        return None
    sign, weeks, days, hours, minutes, seconds = (
        match.groups() if match else (None, None, "1", None, None, None))
    try:
        delta = timedelta(weeks=int(weeks or 0), days=int(days or 0), hours=int(hours or 0),
                          minutes=int(minutes or 0), seconds=int(seconds or 0))
        if sign == "-":
            delta = -delta
        if all_day:
            return (date.fromisoformat(start) + delta).isoformat()
        return (datetime.fromisoformat(start) + delta).isoformat()
    except (OverflowError, ValueError):  # P999999999W; or a day past 9999-12-31
        raise RecordError(f"the event's end ({start} + {duration[:40]}) is past the "
                          f"calendar's last day") from None
