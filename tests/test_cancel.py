"""kit.run.cancel.run_all: items that only wait run beside the jobs, the jobs stay as many as asked."""

from __future__ import annotations

import threading

from kit.catalogue.reproduce import _hangs
from kit.catalogue.scenario import catalogue
from kit.run import cancel


def test_a_waiting_item_runs_beside_the_jobs_which_stay_one_at_a_time():
    """With one job, an item expected to hang (it waits until the others are done) must not take the only place:
    before, the catalogue's hang variants held both places of `--jobs 2` for their whole time limit."""
    others_done, second_started = threading.Event(), threading.Event()
    overlapped: list[bool] = []

    def work(item):
        if item == "hang":
            return "released" if others_done.wait(timeout=30) else "never released"
        if item == 1:  # the second item starting now would be a second job
            overlapped.append(second_started.wait(timeout=1))
        if item == 2:
            second_started.set()
        if item == 3:
            others_done.set()
        return item

    results = cancel.run_all(work, ["hang", 1, 2, 3], jobs=1, idle=lambda item: item == "hang")
    assert results == ["released", 1, 2, 3]
    assert overlapped == [False], "two items ran at once with jobs=1"


def test_only_broken_variants_that_end_in_their_own_timeout_are_waiting_items():
    entries = catalogue()
    waiting = {s.id for s in entries if _hangs(s, "broken")}
    assert waiting == {s.id for s in entries if s.symptom.error_type == "timeout"} and waiting
    assert not any(_hangs(s, "fixed") for s in entries)
