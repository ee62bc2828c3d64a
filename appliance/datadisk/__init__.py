"""Where the owner's data lives: the embedded folder or an adopted USB disk.

The choice is kept on the system side (`system/datadisk.json`, by filesystem
UUID) so it survives reboots; the disk is mounted by the privileged helper at a
stable path and Hearth's data goes under `hearth/` on it, leaving the rest of
the disk alone. When the disk goes away the core is detached (pages say so,
writes are refused); when it comes back it is checked, mounted and attached
again, by itself.

Inside, each module imports only those after it: keeper (DataDisk: finds, follows,
adopts, ejects) › choice (the adopted disk, remembered), move (the verified copy)
› problems (what the owner is told). The pages in appliance/web/ import it.
"""
