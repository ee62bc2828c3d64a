"""The backup engine: encrypted, deduplicated repositories (docs/backup-format.md).

It knows repositories, not the box: any Linux machine runs it through `hearth
backup …`. It loads cryptography and the chunker only when a repository is
opened or a backup runs, so an idle daemon stays small.
"""
