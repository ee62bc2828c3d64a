"""French and English through gettext catalogs; the language of each request; sizes."""
from __future__ import annotations

import gettext
from collections.abc import Callable
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "hearth"
LANGUAGES = ("en", "fr")
DEFAULT = "en"


class Catalogs:
    """The compiled catalogs, loaded once at start-up."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        self._by_lang: dict[str, gettext.NullTranslations] = {DEFAULT: gettext.NullTranslations()}
        for lang in LANGUAGES:
            if lang != DEFAULT:
                self._by_lang[lang] = gettext.translation(DOMAIN, locale_dir, [lang])

    def get(self, lang: str) -> gettext.NullTranslations:
        """Return the translations for a language (English if unknown)."""
        return self._by_lang.get(lang, self._by_lang[DEFAULT])


def from_accept_language(header: str) -> str | None:
    """Return the best supported language an Accept-Language header asks for."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        lang = tag.strip().lower().split("-")[0]
        if lang in LANGUAGES and quality > 0:
            ranked.append((-quality, index, lang))
    return min(ranked)[2] if ranked else None


def N_(message: str) -> str:
    """Mark a message for translation where it is written; it is translated where shown."""
    return message


def size_words(size: int) -> str:
    """Return a size the way disk makers print it: "64 GB", "1.5 TB", "512 bytes"."""
    if size < 1000:
        return f"{size} bytes"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 999.5:
            break
    else:
        unit, value = "PB", value / 1000
    return f"{value:.1f} {unit}" if value < 9.95 else f"{value:.0f} {unit}"


_FRENCH_UNITS = {" bytes": " octets", " kB": " ko", " MB": " Mo", " GB": " Go", " TB": " To"}


def size_in(lang: str) -> Callable[[int], str]:
    """Return a size formatter in a language ("64 GB", "64 Go")."""
    if lang != "fr":
        return size_words

    def french(size: int) -> str:
        words = size_words(size)
        for unit, mot in _FRENCH_UNITS.items():
            if words.endswith(unit):
                return words[:-len(unit)].replace(".", ",") + mot
        return words
    return french
