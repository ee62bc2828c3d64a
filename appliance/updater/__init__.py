"""Updates from the web page: the daemon's side checks an upload and hands it over, the root
side (`hearth-update`) installs it, restarts, and rolls back a version that does not start.

Layers inside the package, each importing only those above it in this list:
versions, status, errors › signature, releases, restarter › rollout, intake, upload ›
pending › command.
"""
