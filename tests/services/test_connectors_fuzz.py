"""Every parser of a connector, fed hostile input: only its own error, never a hang, valid records.

Property-based (hypothesis) on top of the real statement files of tests/jobs/statements,
mutated, and of mails, vCards and events built from tricky parts. The budget is fixed
(the `hearth-fuzz` profile below: the whole module in under a minute on two cores),
and derandomized in CI so that a red run can be replayed. Every input that broke a
parser is kept under fuzz_regressions/ and replayed by the last test.
"""
from __future__ import annotations

import io
import math
import os
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.connectors.bank_statements.formats import statements
from services.connectors.bank_statements.model import StatementError
from services.connectors.dav.records import RecordError, contacts, events
from services.connectors.imap_invoices.invoice import MailError, Rules, picked, read_invoice
from services.connectors.money import MAX_AMOUNT
from tests.jobs.conftest import STATEMENTS
from tests.realparts import required

REGRESSIONS = Path(__file__).parent / "fuzz_regressions"
# Per property: 7 properties × 120 examples take about 20 s on two cores (the budget is
# 60 s); HEARTH_FUZZ_EXAMPLES=5000 searches longer, by hand.
EXAMPLES = int(os.environ.get("HEARTH_FUZZ_EXAMPLES", "120"))

settings.register_profile(
    "hearth-fuzz", max_examples=EXAMPLES, deadline=2000, database=None,
    derandomize=required(), print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ = settings.get_profile("hearth-fuzz")

# Values that broke, or might break, a parser: huge and non-finite amounts, days past
# the calendar, durations past timedelta, malformed addresses and dates.
TRICKY = ["1e999", "-1E+999999999", "NaN", "Infinity", "-inf", "9" * 40, "0", "-0,00",
          "1 234,56", "12.345,67", "1,2,3", "", " ", "20241301", "99991231", "00000101",
          "99991231T235959Z", "20240229", "P999999999W", "-P1D", "PT99999999999S",
          '"', "<", "a@[", "=?utf-8?q?=?=", "Mon, 1 Jan 9999999999999999999999 00:00:00 +0000",
          "\x00", "é", "\u2212" + "12,5", "€", "\\", ";", ":", "=", "'", "/",
          "20240610T090000", "20240610", "20240610T090000Z", "PT45M", "12,50", "-3.20"]
values = st.one_of(st.sampled_from(TRICKY), st.text(max_size=30),
                   st.from_regex(r"[-+]?\d{1,25}([.,]\d{0,4})?([eE][-+]?\d{1,10})?",
                                 fullmatch=True))


def sample(name: str) -> bytes:
    return (STATEMENTS / name).read_bytes()


NUMBERS = re.compile(r"[-+]?\d[\d ,.:/T-]*")  # the amounts and dates of a statement


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """A statement file with some amounts or dates replaced, some lines dropped or repeated."""
    text = original.decode("latin-1")
    spots = [m.span() for m in NUMBERS.finditer(text)]
    for start, end in sorted(draw(st.lists(st.sampled_from(spots), max_size=4, unique=True)),
                             reverse=True):
        text = text[:start] + draw(values) + text[end:]
    lines = text.splitlines()
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        if draw(st.booleans()):
            del lines[index]
        else:
            lines[index:index] = [lines[index]] * draw(st.integers(1, 20))
        lines = lines or [""]
    return "\r\n".join(lines).encode("latin-1", "replace")


def assert_statement_reads_cleanly(data: bytes, name: str) -> int:
    """Read every operation of a file; assert each is a record worth keeping; return how many."""
    count = 0
    try:
        for statement in statements(io.BytesIO(data), name, account_key="k",
                                    account_label="Compte", currency="EUR"):
            balance = statement.account.balance
            assert balance is None or (balance.is_finite() and abs(balance) <= MAX_AMOUNT)
            if statement.account.balance_date is not None:
                date.fromisoformat(statement.account.balance_date)
            for op in statement.operations:
                assert isinstance(op.amount, Decimal) and op.amount.is_finite()
                assert abs(op.amount) <= MAX_AMOUNT and math.isfinite(float(op.amount))
                date.fromisoformat(op.date)
                if op.value_date is not None:
                    date.fromisoformat(op.value_date)
                count += 1
            assert all(isinstance(why, str) for why in statement.skipped)
    except StatementError:
        pass  # the one error a statement reader may raise
    return count


@FUZZ
@given(mutated(sample("bnp.ofx")))
def test_ofx_files_never_fail_but_with_a_statement_error(data: bytes) -> None:
    assert_statement_reads_cleanly(data, "bnp.ofx")


@FUZZ
@given(mutated(sample("creditagricole.xml")))
def test_camt_files_never_fail_but_with_a_statement_error(data: bytes) -> None:
    assert_statement_reads_cleanly(data, "releve.xml")


@FUZZ
@given(st.sampled_from(["boursorama.csv", "labanquepostale.csv", "societegenerale.csv"])
       .flatmap(lambda name: mutated(sample(name))))
def test_csv_files_never_fail_but_with_a_statement_error(data: bytes) -> None:
    assert_statement_reads_cleanly(data, "export.csv")


# Categories a dozen levels deep ("Lc0:c1:…"): quiffen's error message about one was
# exponential in its depth.
hierarchies = st.lists(st.text("ab", min_size=1, max_size=2), min_size=6, max_size=16).map(
    ":".join)
qif_lines = st.one_of(
    st.tuples(st.sampled_from(list("DTUPMLNSE$%C^!AF123")), values).map("".join),
    st.tuples(st.sampled_from(["L", "S"]), hierarchies).map("".join),
    st.tuples(st.sampled_from(["T", "$"]), st.sampled_from(TRICKY[:12])).map("".join))
qif_transactions = st.lists(qif_lines, max_size=8).map(
    lambda lines: "D01/03/2024\nT-1\n" + "".join(line + "\n" for line in lines) + "^\n")


@FUZZ
@given(st.one_of(mutated(sample("livret.qif")),
                 st.lists(qif_transactions, max_size=4).map(
                     lambda blocks: ("!Type:Bank\n" + "".join(blocks)).encode())))
def test_qif_files_never_fail_but_with_a_statement_error(data: bytes) -> None:
    assert_statement_reads_cleanly(data, "livret.qif")


def _mail(sender: str, when: str, subject: str, body: str, with_pdf: bool) -> bytes:
    head = (f"From: {sender}\r\nDate: {when}\r\nSubject: {subject}\r\n"
            f"Message-ID: <x@example.test>\r\nMIME-Version: 1.0\r\n")
    if not with_pdf:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode(
            "utf-8", "surrogateescape")
    return (head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            "Content-Type: text/plain\r\n\r\n" + body + "\r\n--b\r\n"
            'Content-Type: application/pdf; name="f.pdf"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n").encode(
                "utf-8", "surrogateescape")


mails = st.one_of(
    st.builds(_mail, values, values, values,
              st.one_of(values, st.sampled_from(["Montant : 1e999 €", "Total: €" + "9" * 400,
                                                 "Total : 12,50 €"])), st.booleans()),
    st.binary(max_size=400))
RULES = Rules((), (), "")


@FUZZ
@given(mails)
def test_mails_never_fail_but_with_a_mail_error(raw: bytes) -> None:
    try:
        picked(RULES, raw)
        invoice = read_invoice(raw, datetime(2024, 3, 1, tzinfo=timezone.utc))
    except MailError:
        return
    date.fromisoformat(invoice.day)
    if invoice.amount is not None:
        assert math.isfinite(invoice.amount[0]) and invoice.amount[0] <= MAX_AMOUNT


def _content(kind: str, lines: list[tuple[str, str, str]]) -> str:
    body = "\r\n".join(f"{name}{params}:{value}" for name, params, value in lines)
    if kind == "VCARD":
        return f"BEGIN:VCARD\r\nVERSION:3.0\r\n{body}\r\nEND:VCARD\r\n"
    return f"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{body}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


params = st.sampled_from(["", ";VALUE=DATE", ";TZID=Europe/Paris", ";TZID=\"Romance\"",
                          ";TZID=" + "a" * 300, ";TZID=../etc", ";TYPE=home,pref", ';X="',
                          ";TZID=America", ";TZID=\x00"])


def properties(names: list[str]) -> st.SearchStrategy[list[tuple[str, str, str]]]:
    return st.lists(st.tuples(st.sampled_from(names), params, values), max_size=12)


@FUZZ
@given(st.one_of(properties(["N", "FN", "TEL", "EMAIL", "ADR", "BDAY", "ORG", "UID", "BEGIN",
                             "END", "item1.EMAIL"]).map(lambda ls: _content("VCARD", ls)),
                 st.text(max_size=300)))
def test_vcards_never_fail(text: str) -> None:
    for record in contacts(text):
        assert isinstance(record["full_name"], str)


def assert_real_moment(value: str | None) -> None:
    """Fail unless value is None or a real ISO date or date-time."""
    if value is not None:
        (date if len(value) == 10 else datetime).fromisoformat(value)


moments = st.sampled_from(["20240610T090000", "20240610", "20240610T090000Z", "99991231",
                           "99991231T235959Z", "00010101", "00000101", "20241301"])
durations = st.one_of(st.sampled_from(["P999999999W", "PT99999999999S", "-P1D", "PT45M",
                                       "P" + "9" * 30 + "D", "-P999999W"]),
                      st.from_regex(r"[-+]?P(\d{1,12}W)?(\d{1,12}D)?(T\d{1,12}H)?", fullmatch=True))


@st.composite
def calendars(draw: st.DrawFn) -> str:
    """An event with a start, maybe an end or a duration, and any other properties."""
    lines = [("DTSTART", draw(st.sampled_from(["", ";VALUE=DATE", ";TZID=Europe/Paris"])),
              draw(moments))]
    lines.append(draw(st.sampled_from([("DTEND", "", draw(moments)),
                                       ("DURATION", "", draw(durations)), ("UID", "", "u")])))
    lines += draw(properties(["DTSTART", "DTEND", "DUE", "DURATION", "RRULE", "RECURRENCE-ID",
                              "UID", "SUMMARY", "STATUS", "BEGIN", "END"]))
    return _content("VEVENT", draw(st.permutations(lines)))


@FUZZ
@given(st.one_of(calendars(), st.text(max_size=300)))
def test_events_never_fail_but_with_a_record_error(text: str) -> None:
    try:
        found = events(text)
    except RecordError:
        return
    for record in found:
        assert_real_moment(record["start"])
        assert_real_moment(record["end"])


@pytest.mark.parametrize("path", sorted(p for p in REGRESSIONS.iterdir() if p.suffix != ".md"),
                         ids=lambda p: p.name)
def test_every_input_that_once_broke_a_parser_is_read_or_refused(path: Path) -> None:
    """Replay what fuzzing (or the security review) found; fuzz_regressions/README.md says what."""
    data = path.read_bytes()
    if path.suffix == ".eml":
        test_mails_never_fail_but_with_a_mail_error.hypothesis.inner_test(data)  # type: ignore[attr-defined]
    elif path.suffix == ".ics":
        test_events_never_fail_but_with_a_record_error.hypothesis.inner_test(  # type: ignore[attr-defined]
            data.decode())
    elif path.suffix == ".vcf":
        test_vcards_never_fail.hypothesis.inner_test(data.decode())  # type: ignore[attr-defined]
    else:  # a statement: .ofx, .xml (camt.053), .csv or .qif
        assert_statement_reads_cleanly(data, path.name)
