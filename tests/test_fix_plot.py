"""``fix_rounds_figure``: kit fix's road to green, one stacked bar per state of the suite (before, each round)."""

from __future__ import annotations

from kit.diagnose.repair.fix import Counts, Edit, FixResult, Round
from kit.report.plots import fix_rounds_figure


def test_one_stacked_bar_per_round_and_one_for_before():
    import matplotlib.pyplot as plt

    edit = Edit("pytest.ini", 4, "legacy-event-loop-override", "loop scopes = session")
    rounds = [Round([edit, edit], passed=4, failed=1, errors=5),
              Round([edit], passed=9, failed=1, errors=0,
                    rolled_back=[{"cause": "x", "files": ["conftest.py"], "reason": "rolled back"}])]
    result = FixResult("/tmp/shop", Counts(2, 2, 6), Counts(9, 1, 0), False, rounds, findings_left=1)
    figure = fix_rounds_figure(result)
    try:
        (ax,) = figure.axes
        assert len(ax.patches) == 3 * 3  # passed, failed, errors stacked for before, round 1 and round 2
        assert [t.get_text() for t in ax.get_xticklabels()] == [
            "before", "round 1\n2 edits kept", "round 2\n1 edit kept, 1 rolled back"]
        assert [t.get_text() for t in ax.texts] == ["2/10 passed", "4/10 passed", "9/10 passed"]
        heights = [[p.get_height() for p in container] for container in ax.containers]
        assert heights == [[2, 4, 9], [2, 1, 1], [6, 5, 0]]
        assert ax.get_title() == "kit fix on shop, round by round: 1 finding left"
    finally:
        plt.close(figure)
