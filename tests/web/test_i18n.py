"""The translations: complete, well-formed, compiled, and chosen from the browser's header."""
from __future__ import annotations

import gettext
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from appliance.i18n import DEFAULT, DOMAIN, LANGUAGES, LOCALE_DIR, Catalogs, from_accept_language

REPO = Path(__file__).resolve().parents[2]
TRANSLATED = [lang for lang in LANGUAGES if lang != DEFAULT]
POT = LOCALE_DIR.relative_to(REPO) / f"{DOMAIN}.pot"
EXTRACT = ["extract", "-F", "babel.cfg", "-k", "N_", "--no-location", "--omit-header"]
HOW_TO_FIX = f"""
From the repository root, run:
    pybabel {" ".join(EXTRACT)} -o {POT} .
    pybabel update -i {POT} -d {POT.parent} -D {DOMAIN}
then translate every new or 'fuzzy' entry in {POT.parent}/<lang>/LC_MESSAGES/{DOMAIN}.po
(and delete its '#, fuzzy' line), and finally:
    pybabel compile -d {POT.parent} -D {DOMAIN}
docs/i18n.md explains each step."""

# %(name)s with the optional flags, width and precision Python's %-formatting accepts.
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa]")
NBSP, NNBSP = "\u00a0", "\u202f"
# A French : ; ? ! that ends a phrase must follow a no-break space, not a plain one or none.
BARE_PUNCTUATION = re.compile(rf"(?<![{NBSP}{NNBSP}])[:;?!](?=\s|$)")


def po_path(lang: str) -> Path:
    """Return where a language's editable catalog lives."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_po(lang: str) -> Catalog:
    """Return a language's catalog as its translators left it."""
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def strings(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return a message's text, or each of its plural forms, as a tuple."""
    return (value,) if isinstance(value, str) else tuple(value)


def placeholders(text: str) -> list[str]:
    """Return the %(name)s placeholders of a message, as written."""
    return [p.group(0) for p in PLACEHOLDER.finditer(text)]


def entries(catalog: Catalog) -> Iterator[Message]:
    """Yield every message of a catalog but its header."""
    return (m for m in catalog if m.id)


@pytest.fixture(scope="module")
def source_msgids(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Return every msgid in the source tree, extracted as the documented command does."""
    pot = tmp_path_factory.mktemp("i18n") / f"{DOMAIN}.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *EXTRACT, "-o", str(pot),
                    "."], cwd=REPO, check=True, capture_output=True, timeout=60)
    with pot.open("rb") as f:
        template = read_po(f)
    found = {strings(m.id)[0] for m in entries(template)}
    assert "Sign in" in found, "extraction found none of the templates' messages"
    return found


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_english_message_has_a_translation(lang: str, source_msgids: set[str]) -> None:
    known = {strings(m.id)[0] for m in entries(load_po(lang))}
    missing = sorted(source_msgids - known)
    assert not missing, (
        f"{len(missing)} English message(s) are not in {po_path(lang).relative_to(REPO)}, so "
        f"the {lang} UI would show them in English:\n"
        + "\n".join(f"  - {m!r}" for m in missing) + "\n" + HOW_TO_FIX)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_translation_is_finished_and_keeps_its_placeholders(lang: str) -> None:
    problems = []
    for m in entries(load_po(lang)):
        source, texts = strings(m.id), strings(m.string)
        wanted = sorted(placeholders(source[-1]))
        names = {name for text in source for name in PLACEHOLDER.findall(text)}
        if m.fuzzy:
            problems.append(f"{m.id!r} is marked fuzzy: check it, then delete '#, fuzzy'")
        for text in texts:
            found = sorted(placeholders(text))
            # A plural form may leave out the count ("un autre navigateur"), never add one.
            if not text:
                problems.append(f"{m.id!r} has no translation")
            elif found != wanted and not (m.pluralizable and set(found) <= set(wanted)):
                problems.append(f"{m.id!r} has placeholders {found}, the English {wanted}")
            elif names:
                try:
                    text % {name: 1 for name in names}
                except (ValueError, TypeError, KeyError) as exc:
                    problems.append(f"{m.id!r}: {text!r} cannot be filled in ({exc}); "
                                    "write a literal % as %%")
    assert not problems, (f"{po_path(lang).relative_to(REPO)}:\n  "
                          + "\n  ".join(problems) + "\n" + HOW_TO_FIX)


def test_french_puts_a_no_break_space_before_double_punctuation() -> None:
    bad = [f"{m.id!r}: {text!r}" for m in entries(load_po("fr")) for text in strings(m.string)
           if BARE_PUNCTUATION.search(text) or re.search(r" [:;?!»]|« ", text)]
    assert not bad, (
        "In French, ':' is preceded by a no-break space (U+00A0) and '; ? !' by a narrow "
        "no-break space (U+202F), so that a line never starts with them:\n  " + "\n  ".join(bad))


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_compiled_catalog_matches_the_po(lang: str) -> None:
    mo = po_path(lang).with_suffix(".mo")
    assert mo.is_file(), f"{mo.relative_to(REPO)} is missing.\n{HOW_TO_FIX}"
    buffer = io.BytesIO()
    write_mo(buffer, load_po(lang))  # as `pybabel compile` does: fuzzy entries left out
    buffer.seek(0)
    fresh = gettext.GNUTranslations(buffer)
    shipped = Catalogs().get(lang)  # the very catalog the app serves
    assert isinstance(shipped, gettext.GNUTranslations)
    # The "" entry is the header, which records the Babel version that compiled it.
    want = {k: v for k, v in fresh._catalog.items() if k != ""}  # type: ignore[attr-defined]
    have = {k: v for k, v in shipped._catalog.items() if k != ""}  # type: ignore[attr-defined]
    stale = sorted({str(k) for k in want.keys() ^ have.keys()}
                   | {str(k) for k in want.keys() & have.keys() if want[k] != have[k]})
    assert not stale, (
        f"{mo.relative_to(REPO)} is out of date with its .po for {len(stale)} message(s), "
        f"e.g. {stale[:5]}.\nRun: pybabel compile -d {POT.parent} -D {DOMAIN}")
    assert shipped.info().get("plural-forms") == fresh.info().get("plural-forms")


@pytest.mark.parametrize(("header", "expected"), [
    ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),                          # Chrome in French
    ("fr,fr-FR;q=0.8,en-US;q=0.5,en;q=0.3", "fr"),              # Firefox in French
    ("fr-CA", "fr"),
    ("FR-be, EN;q=0.5", "fr"),
    ("en-GB,en;q=0.9,fr;q=0.8", "en"),
    ("de-DE,en;q=0.5", "en"),                                   # unsupported first, then English
    ("de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7,fr;q=0.6", "en"),
    ("en;q=0.4,fr;q=0.6", "fr"),                                # quality wins over order
    ("en;q=0,fr", "fr"),                                        # q=0 means "not this one"
    ("fr;q=0.5, en;q=0.5", "fr"),                               # a tie keeps the browser's order
    ("de", None),
    ("*", None),
    ("", None),
    ("fr;q=zero", None),
    (";;;,,,q=,=;", None),
    ("\x00\xff<script>", None),
    ("français", None),
])
def test_language_from_the_browser_header(header: str, expected: str | None) -> None:
    assert from_accept_language(header) == expected
