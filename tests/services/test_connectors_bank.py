"""The bank-statements connector on real statement files: OFX, camt.053, QIF, French CSVs."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from appliance.core import Core
from appliance.jobs.launch import Order, execute
from appliance.jobs.outcome import Outcome
from appliance.jobs.registry import find
from tests.jobs.conftest import STATEMENTS, core, split_settings  # noqa: F401  (fixtures)

ACCOUNTS, OPERATIONS = "io.hearth.bank.accounts", "io.hearth.bank.operations"


def drop(core: Core, folder: str, *names: str, content: dict[str, bytes] | None = None) -> None:
    """Put statement files into a Drive folder, as the owner would (or a PC, on the disk)."""
    target = core.data_dir / "files" / folder.strip("/")
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(STATEMENTS / name, target / name)
    for name, data in (content or {}).items():
        (target / name).write_bytes(data)


async def run(core: Core, path: str) -> Outcome:
    order = Order(find("bank-statements").manifest, "acc-bank", "Banque",
                  {"path": path, "currency": "EUR"}, os.urandom(32))
    outcome, _ = await execute(core, order)
    return outcome


def operations(core: Core, account_label: str) -> list[dict[str, Any]]:
    [account] = core.collections[ACCOUNTS].find({"label": account_label})
    return core.collections[OPERATIONS].find({"account": account["_id"]},
                                             sort=["date", "vendor_ref"])


async def test_every_format_is_read_and_a_second_import_adds_nothing(core: Core) -> None:
    for name in os.listdir(STATEMENTS):
        drop(core, f"/Banque/{Path(name).stem}", name)
    first = await run(core, "/Banque")
    assert first.status == "ok", first.summary()
    assert first.saved == {ACCOUNTS: 6, OPERATIONS: 24} and first.rejected == 0
    again = await run(core, "/Banque")
    assert (again.status, again.saved, again.duplicates) == ("ok", {}, 30)
    assert len(core.collections[OPERATIONS]) == 24

    ofx = operations(core, "Compte •••• 5678")
    assert [o["vendor_ref"] for o in ofx][:2] == ["id:JL5H3Z0BJB", "id:JL5H3Z0BJC"]
    assert ofx[0]["raw_label"] == "FACTURE CARTE DU 020324 CAFE DE L'EGLISE CARTE " \
                                  "4974XXXXXXXX1234 ÉPINAL"  # cp1252, as the header says
    assert [o["amount"] for o in ofx] == [-12.9, -150.0, 2150.0, -87.12, -23.45]
    [bnp] = core.collections[ACCOUNTS].find({"label": "Compte •••• 5678"})
    assert (bnp["balance"], bnp["balance_date"], bnp["currency"]) == (1876.53, "2024-03-15", "EUR")
    assert "00012345678" not in str(bnp)  # only the end of the number is kept

    camt = operations(core, "Compte •••• 0189")
    assert [(o["amount"], o["label"]) for o in camt] == [(-250.0, "SCI LES TILLEULS"),
                                                          (19.75, "CPAM DE PARIS")]
    assert camt[0]["vendor_ref"] == "id:2024031500123456"  # AcctSvcrRef; the pending one is left

    lbp = operations(core, "Compte X020")
    assert len(lbp) == 7 and sorted(o["amount"] for o in lbp)[:2] == [-150.0, -87.12]
    coffees = [o for o in lbp if "BOULANGERIE" in o["label"]]
    assert len(coffees) == 2 and coffees[1]["vendor_ref"] == coffees[0]["vendor_ref"] + "#1"
    assert any(o["label"] == "CHEQUE N° 8012345" for o in lbp)
    assert any(o["amount"] == 2150.0 for o in lbp)  # "2 150,00"

    sg = operations(core, "Compte 9012")
    assert [o["amount"] for o in sg] == [-1045.0, 312.45, -39.99, -32.1]
    assert sg[0]["raw_label"] == "CARTE X1234 06/03 SNCF CARTE X1234 06/03 SNCF INTERNET"

    bourso = operations(core, "boursorama")  # no account number: named after its folder
    assert [(o["date"], o["value_date"], o["category"]) for o in bourso][0] == (
        "2024-03-10", "2024-03-11", "Transports")

    qif = operations(core, "livret")
    assert [o["amount"] for o in qif] == [-45.6, -45.6, 1200.0]  # not -4560: commas handled


async def test_an_overlapping_export_adds_only_what_is_new(core: Core) -> None:
    drop(core, "/Compte", "labanquepostale.csv")
    assert (await run(core, "/Compte")).saved[OPERATIONS] == 7
    later = (STATEMENTS / "labanquepostale.csv").read_bytes().decode("cp1252").replace(
        "Date;Libellé;Montant(EUROS);Montant(FRANCS)\n",
        "Date;Libellé;Montant(EUROS);Montant(FRANCS)\n"
        '18/03/2024;"ACHAT CB PHARMACIE DU CENTRE 17.03.24 CARTE NUMERO 123";-12,80;-83,96\n')
    lines = later.splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("01/03/2024")]  # a shifted window
    drop(core, "/Compte", content={"releve-2.csv": "".join(kept).encode("cp1252")})
    second = await run(core, "/Compte")
    assert second.saved == {OPERATIONS: 1} and second.rejected == 0
    assert len(operations(core, "Compte X020")) == 8


async def test_a_newer_statement_updates_the_balance_an_older_one_does_not(core: Core) -> None:
    text = (STATEMENTS / "bnp.ofx").read_bytes()
    newer = text.replace(b"<BALAMT>1876.53\r\n<DTASOF>20240315", b"<BALAMT>1500.00\r\n"
                         b"<DTASOF>20240322")
    older = text.replace(b"<BALAMT>1876.53\r\n<DTASOF>20240315", b"<BALAMT>999.00\r\n"
                         b"<DTASOF>20240301")
    drop(core, "/B", content={"march.ofx": text})
    await run(core, "/B")
    drop(core, "/B", content={"march.ofx": newer})
    assert (await run(core, "/B")).updated == {ACCOUNTS: 1}
    drop(core, "/B", content={"march.ofx": older})
    assert (await run(core, "/B")).updated == {}
    [account] = core.collections[ACCOUNTS].all()
    assert (account["balance"], account["balance_date"]) == (1500.0, "2024-03-22")


async def test_files_that_are_not_statements_are_skipped_and_said(core: Core) -> None:
    drop(core, "/Mixed", "bnp.ofx", content={"photo.jpg": b"\xff\xd8\xff\xe0JFIF\x00",
                                             "notes.txt": b"nothing here"})
    out = await run(core, "/Mixed")
    assert out.status == "ok" and out.saved[OPERATIONS] == 5
    said = " ".join(line["message"] for line in out.log)
    assert "photo.jpg is not a statement Hearth can read" in said
    assert "notes.txt: no header row" in said
    drop(core, "/Junk", content={"photo.jpg": b"\xff\xd8\xff\xe0JFIF\x00"})
    junk = await run(core, "/Junk")
    assert junk.error == "NOT_FOUND" and "none of the 1 files" in junk.message
    missing = await run(core, "/Nowhere")
    assert missing.error == "NOT_FOUND" and "there is no /Nowhere in the Drive" in missing.message


async def test_a_long_camt_statement_keeps_every_entry_of_its_account(core: Core) -> None:
    # Entries reach pycamt a batch at a time (camt.BATCH); none may be lost or moved.
    sample = (STATEMENTS / "creditagricole.xml").read_text()
    head, rest = sample.split("<Ntry>", 1)
    entry = "<Ntry>" + rest.split("</Ntry>", 1)[0] + "</Ntry>"
    entries = "".join(entry.replace("2024031500123456", f"REF{n:05d}")
                      .replace("250.00", f"{n}.01") for n in range(1, 451))
    drop(core, "/Banque/long", content={"long.xml": (head + entries + "</Stmt>"
                                                      "</BkToCstmrStmt></Document>").encode()})
    outcome = await run(core, "/Banque/long")
    assert outcome.status == "ok", outcome.summary()
    ops = core.collections[OPERATIONS].find({})
    assert len(ops) == 450
    assert {op["vendor_ref"] for op in ops} == {f"id:REF{n:05d}" for n in range(1, 451)}
    assert sorted(-float(op["amount"]) for op in ops) == [n + 0.01 for n in range(1, 451)]
    [account] = core.collections[ACCOUNTS].find({})
    assert {op["account"] for op in ops} == {account["_id"]}


async def test_a_line_with_an_absurd_amount_is_skipped_and_said_and_the_rest_is_read(
        core: Core) -> None:
    drop(core, "/Compte", content={"export.csv": b'"Date";"Libelle";"Montant"\n'
                                                 b"15/03/2024;CARTE MONOPRIX;1e999\n"
                                                 b"16/03/2024;CAFE;-2,50\n"})
    out = await run(core, "/Compte")
    assert out.status == "ok" and out.saved[OPERATIONS] == 1, out.summary()
    said = " ".join(line["message"] for line in out.log)
    assert "export.csv, line 2 skipped: '1e999' is not an amount" in said
    assert [o["amount"] for o in core.collections[OPERATIONS].all()] == [-2.5]
