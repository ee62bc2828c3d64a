"""Backups on the box: the chosen backup disk, the schedule, runs with progress, moving a home.

The engine (appliance/backup/engine/) knows repositories; this package knows the box:
where the repository is (`<mount>/hearth-backups/<instance id>/`), the recovery
key sealed on the system side so scheduled runs need nobody, one operation at
a time in a thread, and notifications when it ends.
"""
