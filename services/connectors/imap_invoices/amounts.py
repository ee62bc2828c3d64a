"""Reading an invoice's amount from its mail: "Montant : 42,50 €", "Total: €42.50"."""
from __future__ import annotations

import re
from decimal import Decimal

from appliance.files.names import fold
from services.connectors.money import sane

_NUMBER = r"\d{1,3}(?:[ '.,]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d)"
_CURRENCY = r"€|\$|£|eur(?:os?)?\b|usd\b|gbp\b|chf\b"
_MONEY = re.compile(rf"(?P<c1>{_CURRENCY})\s?(?P<n1>{_NUMBER})|(?<![\d.,])(?P<n2>{_NUMBER})"
                    rf"\s?(?P<c2>{_CURRENCY})")
# Words that say "this is what you pay", in French and English (text is folded: no accents).
_LEAD = re.compile(r"\b(?:montant|total|net a payer|a payer|a regler|somme|amount|"
                   r"balance due|price|prix)\b[^\n\d€$£]{0,40}?$")
_CODES = {"€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "$": "USD", "usd": "USD",
          "£": "GBP", "gbp": "GBP", "chf": "CHF"}


def _value(text: str) -> Decimal:
    digits = re.sub(r"[ ']", "", text)
    decimals = re.search(r"[.,](\d{1,2})$", digits)
    whole = digits[:decimals.start()] if decimals else digits
    return Decimal(re.sub(r"[.,]", "", whole) + ("." + decimals.group(1) if decimals else ""))


def find_amount(*texts: str) -> tuple[float, str] | None:
    """Return (amount, currency code) the texts state plainly, else None.

    An amount right after a word like "Montant" or "Total" wins; else the only
    amount the texts hold. Two unlabelled amounts are a guess: None.
    """
    loose: list[tuple[float, str]] = []
    for text in texts:
        folded = re.sub(r"\s", " ", fold(text))
        for found in _MONEY.finditer(folded):
            number = found.group("n1") or found.group("n2")
            code = _CODES[(found.group("c1") or found.group("c2")).strip()]
            value = _value(number)
            if value <= 0 or not sane(value):  # a reference number is not a price
                continue
            if _LEAD.search(folded[max(0, found.start() - 60):found.start()]):
                return float(value), code
            loose.append((float(value), code))
    return loose[0] if len(set(loose)) == 1 else None
