"""An account run again and again, keeping its session between runs as the box does."""
from __future__ import annotations

import os
from appliance.core import Core
from appliance.jobs.launch import Order, execute
from appliance.jobs.outcome import Outcome
from appliance.jobs.registry import find


class Account:
    """One connector account whose runs go through the real subprocess, sink and store."""

    def __init__(self, core: Core, slug: str, label: str, fields: dict[str, str]) -> None:
        self.core, self.slug, self.label, self.fields = core, slug, label, fields
        self.key = os.urandom(32)
        self.session: str | None = None

    async def run(self, **changes: str) -> Outcome:
        """Run the connector once with these fields changed; keep the session it leaves."""
        order = Order(find(self.slug).manifest, f"acc-{self.slug}", self.label,
                      {**self.fields, **changes}, self.key, session=self.session)
        outcome, session = await execute(self.core, order)
        if isinstance(session, str) or session is None:
            self.session = session
        return outcome


def said(outcome: Outcome) -> str:
    """Return the run's log as one line."""
    return " | ".join(str(line["message"]) for line in outcome.log)
