"""Connector benchmark: importing a 100,000-operation statement, then the same file again.

    python bench/connectors_bench.py [--operations 100000] [--formats ofx,csv,camt] [--dir DIR]

For each format it writes a statement of N operations (an OFX 1.02 file as a
French bank exports it, a La Banque Postale CSV in cp1252 with decimal commas,
a camt.053), then, each in a fresh process:

1. the peer: the bank-statements connector's own reader, in a bare process,
   reading every operation and doing nothing with it (what parsing costs);
2. `hearth connector run`'s path (appliance.jobs.launch.execute, the
   sandboxed subprocess, JSON lines, validation, dedup, durable store writes),
   once on an empty data folder, then again on the same file (every operation a
   duplicate).

It reports seconds, the ratio to the peer, the connector subprocess's peak RSS
and the importing process's peak RSS (it holds the store: all N documents are
in its memory, as in the daemon). The work folder goes at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LABELS = ["ACHAT CB CARREFOUR CITY", "PRLV SEPA EDF CLIENTS PARTICULIERS", "VIR SEPA SALAIRE",
          "ACHAT CB BOULANGERIE DUPONT", "RETRAIT DAB LA POSTE", "PRLV SEPA FREE MOBILE",
          "ACHAT CB SNCF INTERNET", "CHEQUE", "VIR INSTANTANE MARIE DURAND", "ACHAT CB PICARD"]


def _operations(n: int) -> list[tuple[date, int, str]]:
    rng = random.Random(42)
    start = date(2015, 1, 1)
    ops = [(start + timedelta(days=i * 3650 // n), rng.randint(-50000, 30000),
            f"{rng.choice(LABELS)} {rng.randint(1, 99999):05d}") for i in range(n)]
    return ops


def write_ofx(path: Path, n: int) -> None:
    """Write an OFX 1.02 (SGML) statement of n operations."""
    with path.open("w", encoding="cp1252", newline="\r\n") as fh:
        fh.write("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
                 "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX>\n"
                 "<SIGNONMSGSRSV1>\n<SONRS>\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n"
                 "<DTSERVER>20250101120000\n<LANGUAGE>FRA\n</SONRS>\n</SIGNONMSGSRSV1>\n"
                 "<BANKMSGSRSV1>\n<STMTTRNRS>\n<TRNUID>1\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n"
                 "</STATUS>\n<STMTRS>\n<CURDEF>EUR\n<BANKACCTFROM>\n<BANKID>30004\n"
                 "<BRANCHID>00820\n<ACCTID>00012345678\n<ACCTTYPE>CHECKING\n</BANKACCTFROM>\n"
                 "<BANKTRANLIST>\n<DTSTART>20150101\n<DTEND>20250101\n")
        for i, (day, cents, label) in enumerate(_operations(n)):
            fh.write(f"<STMTTRN>\n<TRNTYPE>{'DEBIT' if cents < 0 else 'CREDIT'}\n"
                     f"<DTPOSTED>{day:%Y%m%d}\n<TRNAMT>{cents / 100:.2f}\n<FITID>F{i:09d}\n"
                     f"<NAME>{label}\n<MEMO>CARTE 4974XXXXXXXX1234\n</STMTTRN>\n")
        fh.write("</BANKTRANLIST>\n<LEDGERBAL>\n<BALAMT>1234.56\n<DTASOF>20250101\n"
                 "</LEDGERBAL>\n</STMTRS>\n</STMTTRNRS>\n</BANKMSGSRSV1>\n</OFX>\n")


def write_csv(path: Path, n: int) -> None:
    """Write a La Banque Postale-style CSV (cp1252, ;, decimal comma) of n operations."""
    with path.open("w", encoding="cp1252") as fh:
        fh.write("Numéro Compte   ;0123456X020\nType  ;CCP\nCompte tenu en  ;euros\n\n"
                 "Date;Libellé;Montant(EUROS)\n")
        for day, cents, label in reversed(_operations(n)):
            amount = f"{cents / 100:.2f}".replace(".", ",")
            fh.write(f'{day:%d/%m/%Y};"{label}";{amount}\n')


def write_camt(path: Path, n: int) -> None:
    """Write a camt.053.001.02 statement of n entries."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:'
                 '20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>B</MsgId>'
                 '<CreDtTm>2025-01-01T00:00:00</CreDtTm></GrpHdr><Stmt><Id>S</Id><Acct><Id>'
                 '<IBAN>FR7630006000011234567890189</IBAN></Id><Ccy>EUR</Ccy></Acct>')
        for i, (day, cents, label) in enumerate(_operations(n)):
            side = "DBIT" if cents < 0 else "CRDT"
            fh.write(f'<Ntry><Amt Ccy="EUR">{abs(cents) / 100:.2f}</Amt><CdtDbtInd>{side}'
                     f'</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>'
                     f'R{i:09d}</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>{label}</Ustrd>'
                     f'</RmtInf></TxDtls></NtryDtls></Ntry>')
        fh.write("</Stmt></BkToCstmrStmt></Document>\n")


WRITERS = {"ofx": (write_ofx, "statement.ofx"), "csv": (write_csv, "statement.csv"),
           "camt": (write_camt, "statement.xml")}


def peak_mib(who: int) -> float:
    """Return a peak RSS in MiB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(who).ru_maxrss / 1024


def worker_parse(path: Path) -> dict[str, float]:
    """Read every operation with the connector's own reader, in this bare process."""
    from services.connectors.bank_statements.formats import statements
    started = time.perf_counter()
    count = 0
    with path.open("rb") as fh:
        for statement in statements(fh, path.name, account_key="k", account_label="l",
                                    currency="EUR"):
            count += sum(1 for _ in statement.operations)
    return {"seconds": time.perf_counter() - started, "operations": count,
            "rss": peak_mib(resource.RUSAGE_SELF)}


def worker_import(data: Path) -> dict[str, object]:
    """Import the Drive folder /Bank twice through the real run path; time each."""
    from appliance.core import open_core
    from appliance.jobs.launch import Order, execute
    from appliance.jobs.registry import find
    from appliance.settings import Settings
    from services.connectors.service import SERVICE

    async def main() -> dict[str, object]:
        core = await open_core(Settings(data=data), [SERVICE])
        manifest = find("bank-statements").manifest
        results = []
        for _ in range(2):
            order = Order(manifest, "bench", "Bank", {"path": "/Bank", "currency": "EUR"},
                          os.urandom(32))
            started = time.perf_counter()
            outcome, _ = await execute(core, order)
            results.append({"seconds": time.perf_counter() - started,
                            "runner_rss": outcome.peak_mib, **outcome.summary()})
        await core.close()
        return {"first": results[0], "second": results[1], "rss": peak_mib(resource.RUSAGE_SELF)}
    return asyncio.run(main())


def _in_fresh_process(*args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"the worker failed:\n{out.stderr[-3000:]}")
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Write the statements, measure the peer and Hearth, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operations", type=int, default=100_000)
    parser.add_argument("--formats", default="ofx,csv,camt")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, where = args.worker
        result = worker_parse(Path(where)) if kind == "parse" else worker_import(Path(where))
        print(json.dumps(result))
        return
    work = Path(tempfile.mkdtemp(prefix="hearth-bench-", dir=args.dir))
    try:
        print(f"{'format':6} {'step':28} {'seconds':>8} {'ratio':>6} {'runner MiB':>11} "
              f"{'importer MiB':>13}  result")
        for kind in args.formats.split(","):
            write, name = WRITERS[kind]
            bank = work / kind / "data" / "files" / "Bank"
            bank.mkdir(parents=True)
            write(bank / name, args.operations)
            size = (bank / name).stat().st_size / 2**20
            peer = _in_fresh_process("--worker", "parse", str(bank / name))
            hearth = _in_fresh_process("--worker", "import", str(work / kind / "data"))
            base = float(peer["seconds"])  # type: ignore[arg-type]
            print(f"{kind:6} {f'parse only ({size:.0f} MiB file)':28} {base:8.1f} {1:6.1f} "
                  f"{'':>11} {peer['rss']:13.0f}  {peer['operations']} operations")
            for step in ("first", "second"):
                run = hearth[step]
                assert isinstance(run, dict)
                label = "import" if step == "first" else "import again (duplicates)"
                print(f"{kind:6} {label:28} {run['seconds']:8.1f} {run['seconds'] / base:6.1f} "
                      f"{run['runner_rss']:11.0f} {hearth['rss']:13.0f}  "
                      f"{run['status']} saved={sum(run['saved'].values())} "
                      f"duplicates={run['duplicates']}")
            shutil.rmtree(work / kind)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
