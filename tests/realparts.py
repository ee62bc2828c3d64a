"""In CI, a test that skips is a failure: every real part it needs is installed there.

`.ci/run` sets HEARTH_REAL_PARTS=required. Tests that need a real part (root, loop
disks and udevd, network namespaces, Dovecot, litmus, the image builds…) skip on a
developer's machine that lacks it, with a reason; in CI the same skip fails the run,
so a green CI means every real-part test really ran. Tests deselected with `-m` are
not skipped, and an expected failure (xfail) stays one.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

ENV = "HEARTH_REAL_PARTS"


def required() -> bool:
    """Return whether this run must not skip any test."""
    return os.environ.get(ENV, "") == "required"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not required() or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (f"{item.nodeid} skipped, and {ENV}=required forbids skips "
                       f"(it needs a real part that this machine lacks): {reason}")
