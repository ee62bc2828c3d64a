"""The CI rule that no test may skip, checked on a small suite run by pytest itself."""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import pytest

def test_needs_no_tool():
    assert 1 + 1 == 2

def test_needs_a_loop_disk():
    pytest.skip("loop disks need root")

@pytest.mark.xfail(reason="a known limit", strict=True)
def test_known_limit():
    assert False
"""


def test_a_skipped_real_part_test_fails_the_run_in_ci(pytester: pytest.Pytester,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    monkeypatch.setenv("HEARTH_REAL_PARTS", "required")
    result = pytester.runpytest("-p", "tests.realparts", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, xfailed=1)
    result.stdout.fnmatch_lines(["*test_needs_a_loop_disk skipped, and HEARTH_REAL_PARTS=required"
                                 " forbids skips*loop disks need root*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_on_a_developer_machine_the_same_test_skips_with_its_reason(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    monkeypatch.delenv("HEARTH_REAL_PARTS", raising=False)
    result = pytester.runpytest("-p", "tests.realparts", "-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(["*loop disks need root*"])
    assert result.ret == pytest.ExitCode.OK
