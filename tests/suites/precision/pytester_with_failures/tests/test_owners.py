import pytest

MIXED = """
import pytest

@pytest.mark.owner("payments")
def test_refund():
    assert 1 + 1 == 2

@pytest.mark.owner("payments")
def test_chargeback():
    assert "EUR" == "USD"

@pytest.mark.owner("search")
def test_ranking(owner):
    assert owner == "search"

def test_orphan():
    pass
"""


def test_owned_tests_run_normally(project):
    project.makepyfile(MIXED)
    result = project.runpytest()
    result.assert_outcomes(passed=3, failed=1)


def test_unowned_test_errors_at_setup(project):
    project.makepyfile(MIXED)
    result = project.runpytest("--require-owner")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines(["*test_orphan has no @pytest.mark.owner*"])


def test_owner_fixture_needs_a_marker(project):
    project.makepyfile("""
        def test_who(owner):
            pass
    """)
    result = project.runpytest()
    result.assert_outcomes(errors=1)


def test_summary_counts_setup_errors_once(project):
    project.makepyfile(MIXED)
    result = project.runpytest("--require-owner")
    # the orphan errors at setup and has no call phase: the plugin forgets it in the denominator
    result.stdout.fnmatch_lines(["owners: payments=1/2, search=0/1, unowned=1/1"])


def test_summary_is_silent_without_tests(project):
    project.makepyfile("def helper():\n    return 1\n")
    result = project.runpytest()
    assert "owners:" in result.stdout.str(), "an empty run should still print an owners line"


def test_failures_are_counted_per_team(project):
    project.makepyfile(MIXED)
    result = project.runpytest()
    line = next(line for line in result.outlines if line.startswith("owners:"))
    if "unowned" in line:
        pytest.fail(f"unowned tests must not appear in the summary without --require-owner: {line!r}")


def test_summary_matches_golden_file(project, golden_summary):
    project.makepyfile(MIXED)
    assert project.runpytest().stdout.str().count(golden_summary) == 1
