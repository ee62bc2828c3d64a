"""The pure parts of the mail and url connectors: amounts, vendors, mailbox and file names."""
from __future__ import annotations

from email.message import EmailMessage

import pytest

from services.connectors.filenames import safe_name
from services.connectors.imap_invoices.amounts import find_amount
from services.connectors.imap_invoices.invoice import Rules, pdfs, vendor_of
from services.connectors.imap_invoices.mailbox import mailbox_name


@pytest.mark.parametrize(("texts", "found"), [
    (("Montant : 42,50 €",), (42.5, "EUR")),
    (("Montant\u00a0: 42,50\u00a0€",), (42.5, "EUR")),
    (("Total: €42.50",), (42.5, "EUR")),
    (("Total TTC : 1 234,56 €",), (1234.56, "EUR")),
    (("Net à payer : 1.234,56 EUR",), (1234.56, "EUR")),
    (("Amount due: 1,234.56 USD",), (1234.56, "USD")),
    (("Your invoice", "Order total $19.99, thanks"), (19.99, "USD")),
    (("Facture", "Économisez 5 € sur votre prochain achat ! Total à payer : 30,00 €"),
     (30.0, "EUR")),
    (("Votre facture de 58,20 EUR est disponible",), (58.2, "EUR")),  # the only amount
    (("Prix : 12 euros",), (12.0, "EUR")),
    (("Facture n° 2026-0042 du 03/11/2026",), None),  # numbers, but no money
    (("3 € offerts, 4 € de frais",), None),  # two unlabelled amounts: no guess
])
def test_amounts_are_read_in_french_and_english(texts: tuple[str, ...],
                                                found: tuple[float, str] | None) -> None:
    assert find_amount(*texts) == found


@pytest.mark.parametrize(("domain", "vendor"), [
    ("edf.fr", "EDF"), ("factures.edf.fr", "EDF"), ("mail.free-mobile.fr", "Free-Mobile"),
    ("orange.fr", "Orange"), ("bill.bt.co.uk", "BT"), ("amazon.com", "Amazon"), ("", "Unknown"),
])
def test_a_vendor_is_named_after_the_sender_domain(domain: str, vendor: str) -> None:
    assert vendor_of(domain) == vendor


def test_rules_pick_senders_by_address_or_domain_and_subjects_by_word() -> None:
    rules = Rules.from_fields({"senders": "edf.fr, @sfr.fr, factures@free.fr",
                               "subject_words": "facture, REÇU"})
    assert rules.matches("noreply@clients.edf.fr", "Votre Facture")
    assert rules.matches("a@sfr.fr", "Votre recu de paiement")  # no case, no accents
    assert not rules.matches("promo@free.fr", "Facture")  # another address of that domain
    assert not rules.matches("a@notedf.fr", "Facture")
    assert not rules.matches("a@edf.fr", "Nos offres")
    anything = Rules.from_fields({"senders": "", "subject_words": "*"})
    assert anything.matches("x@y.z", "Bonjour")


@pytest.mark.parametrize(("name", "wire"), [
    ("INBOX", '"INBOX"'), ("Reçus", '"Re&AOc-us"'), ("Entwürfe", '"Entw&APw-rfe"'),
    ("A & B", '"A &- B"'), ('Say "hi"', '"Say \\"hi\\""'), ("日本語", '"&ZeVnLIqe-"'),
])
def test_mailbox_names_are_written_as_imap_wants(name: str, wire: str) -> None:
    assert mailbox_name(name) == wire


@pytest.mark.parametrize(("raw", "name"), [
    ("facture.pdf", "facture.pdf"), ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\relevé.pdf", "relevé.pdf"), ("a:b*c?.pdf", "a_b_c_.pdf"),
    ("...", "fallback"), ("CON.pdf", "fallback"), ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ("line\nbreak.pdf", "line_break.pdf"),
])
def test_names_from_elsewhere_are_made_safe(raw: str, name: str) -> None:
    assert safe_name(raw, "fallback") == name


def test_every_pdf_of_a_mail_is_found_even_with_one_name() -> None:
    msg = EmailMessage()
    msg.set_content("Vos factures")
    for data in (b"%PDF-1.4 a", b"%PDF-1.4 b"):
        msg.add_attachment(data, maintype="application", subtype="pdf", filename="facture.pdf")
    msg.add_attachment(b"%PDF-1.4 c", maintype="application", subtype="octet-stream",
                       filename="Avoir.PDF")
    msg.add_attachment(b"not a pdf", maintype="application", subtype="pdf", filename="x.pdf")
    msg.add_attachment(b"%PDF-1.4 d", maintype="image", subtype="png", filename="logo.png")
    assert pdfs(msg) == [("facture.pdf", b"%PDF-1.4 a"), ("facture (2).pdf", b"%PDF-1.4 b"),
                         ("Avoir.PDF", b"%PDF-1.4 c")]
