"""What the owner is told when the data disk is out of reach or an operation is refused."""
from __future__ import annotations

from appliance.errors import UserError
from appliance.i18n import N_

MISSING = N_("Your data disk is not plugged in. Plug it back in: the box checks it and "
             "carries on by itself.")
MOVING = N_("Hearth is moving your data to the new disk. This can take a while; the box "
            "carries on by itself when it is done.")
EJECTED = N_("The data disk was ejected safely. Plug it back in to carry on.")
DAMAGED = N_("Your data disk has errors the box could not repair. Plug it into a computer "
             "to repair it, then plug it back in.")


class DataDiskError(UserError):
    """A data disk operation was refused; the message is meant for the owner."""

    status = 409  # refused as things stand (a move under way, the wrong disk)
