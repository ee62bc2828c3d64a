"""vCards and events as phones and desktop programs really write them, read by the dav connector."""
from __future__ import annotations

from services.connectors.dav.records import contacts, events

APPLE = ("BEGIN:VCARD\nVERSION:3.0\nPRODID:-//Apple Inc.//iOS 17.4//EN\nN:Martin;Zoé;;;\n"
         "FN:Zoé Martin\nitem1.EMAIL;type=INTERNET;type=pref:zoe@example.org\n"
         "item1.X-ABLabel:_$!<Other>!$_\nTEL;type=CELL;type=VOICE;type=pref:06 11 22 33 44\n"
         "item2.ADR;type=HOME;type=pref:;;3 place du Marché\\n2e étage;Nancy;;54000;France\n"
         "BDAY;VALUE=date:--04-15\nUID:zoe-1\nEND:VCARD\n")
OLD = ("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Durand;Luc\r\nTEL;HOME;VOICE:+33 3 29 00 00 00\r\n"
       "TEL;VALUE=uri:tel:+33-6-00-00-00-00\r\nEMAIL;PREF;INTERNET:luc@exam\r\n\tple.org\r\n"
       "ORG:Boulangerie \"Au pain\\; chaud\"\r\nEND:VCARD\r\n")
OUTLOOK = ("BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Romance Standard Time\r\nEND:VTIMEZONE\r\n"
           "BEGIN:VEVENT\r\nUID:040000008200E00074C5B7101A82E008\r\n"
           "DTSTART;TZID=\"Romance Standard Time\":20240610T090000\r\n"
           "DURATION:PT45M\r\nSUMMARY;LANGUAGE=fr-FR:Réunion: budget\\, 2024\r\n"
           "LOCATION;ALTREP=\"http://x/y;z:1\":Salle 2\r\nEND:VEVENT\r\n"
           "BEGIN:VTODO\r\nUID:t1\r\nSUMMARY:a task\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")


def test_an_iphone_vcard_with_groups_and_pref_types() -> None:
    [zoe] = contacts(APPLE)
    assert (zoe["uid"], zoe["full_name"], zoe["names"]["given"]) == ("zoe-1", "Zoé Martin", "Zoé")
    assert zoe["emails"] == [{"address": "zoe@example.org", "types": ["internet"]}]
    assert zoe["phones"] == [{"number": "06 11 22 33 44", "types": ["cell", "voice"]}]
    assert zoe["addresses"][0]["street"] == "3 place du Marché\n2e étage"
    assert zoe["birthday"] == "--04-15"


def test_an_old_vcard_2_1_with_bare_types_folding_and_a_tel_uri() -> None:
    [luc] = contacts(OLD)
    assert luc["full_name"] == "Luc Durand"  # no FN: made from N
    assert luc["phones"] == [{"number": "+33 3 29 00 00 00", "types": ["home", "voice"]},
                             {"number": "+33-6-00-00-00-00", "types": []}]
    assert luc["emails"] == [{"address": "luc@example.org", "types": ["internet"]}]
    assert luc["organization"] == 'Boulangerie "Au pain; chaud"'


def test_an_outlook_event_with_an_invented_zone_and_quoted_parameters() -> None:
    [meeting] = events(OUTLOOK)  # the VTODO is not an event
    assert meeting["summary"] == "Réunion: budget, 2024" and meeting["location"] == "Salle 2"
    # Not a zone Python knows: the time is kept as written, with the zone's name beside it.
    assert (meeting["start"], meeting["end"], meeting["timezone"]) == (
        "2024-06-10T09:00:00", "2024-06-10T09:45:00", "Romance Standard Time")
