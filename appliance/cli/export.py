"""`hearth export`: the files and the documents as a plain archive, readable anywhere."""
from __future__ import annotations

import argparse
from pathlib import Path

from appliance.backup.engine.backuperrors import BackupError
from appliance.cli.common import Subcommands, add_command, counted, refusing
from appliance.i18n import size_words
from appliance.settings import Settings


@refusing(BackupError)
def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Export the files and every doctype's documents as a plain archive (tar or zip)."""
    # Loaded when the command runs: the exporter, the core and the services are needed
    # only to export.
    from appliance.backup.engine.exporter import export
    from appliance.core import CORE_DOCTYPES  # late, as above
    from appliance.services import discover  # late, as above
    private = {d.name for d in CORE_DOCTYPES if d.private}
    private |= {d.name for s in discover() for d in s.doctypes if d.private}
    report = export(settings.data, args.out, exclude=frozenset(private))
    print(f"Exported {counted(report.files, 'file')} ({size_words(report.bytes)}) and "
          f"{counted(report.documents, 'document')} of {counted(report.doctypes, 'doctype')} "
          f"to {args.out}.")
    return 0


def register(commands: Subcommands) -> None:
    """Add `export` to the `hearth` command."""
    export = add_command(commands, "export", cmd_export)
    export.add_argument("out", type=Path, metavar="OUT",
                        help="Archive to write: .tar, .tar.gz/.tgz or .zip.")
