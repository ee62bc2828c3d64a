"""The privileged disk helper: a small root process with fixed verbs, asked over a unix socket."""
