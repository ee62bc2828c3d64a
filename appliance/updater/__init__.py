"""Updates from the web page: the daemon's side checks an upload and hands it over, the root
side (`hearth-update`) installs it, restarts, and rolls back a version that does not start.

Inside, each module imports only those after it: command › pending › rollout, intake,
upload › signature, releases, restarter › versions, status, errors. The page
(appliance/web/update_page.py) imports this package, never the reverse.
"""
