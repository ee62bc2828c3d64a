"""`hearth …`: the command, whose commands each feature registers (cli/main.py lists them)."""
