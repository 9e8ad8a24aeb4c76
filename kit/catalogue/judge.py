"""Judging: did a variant behave as its entry declares? Every rule of the catalogue, written once.

``kit scenarios run`` and ``kit matrix`` both judge through here:

- a run *shows a symptom* when one of the errors it :func:`observed` has the symptom's type (last dotted
  part), its message matches the symptom's regex, and it happened in the symptom's phase (``"timeout"``:
  the run was killed at its timeout);
- a run *passed* when its outcome is ``passed`` and at least one test passed (an empty run proves nothing);
- a variant is *reproduced* when the broken one shows its symptom, or the fixed one passed;
- a matrix cell is *as declared* when the variant did what its entry's ``[versions]`` table says for the
  cell's versions (:func:`expected_for`): showed the symptom, passed, or failed in some other way.

The first error of a run (what a result reports) is picked here too, from the same observed errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from kit.catalogue.scenario import Scenario, Symptom
from kit.common.text import short_type

if TYPE_CHECKING:
    from kit.run.runner import PytestRun

__all__ = [
    "observed", "symptom_matches", "symptom_seen", "secondary_seen", "passed", "reproduced", "first_error",
    "output_error", "versions_match", "expected_for", "as_declared", "FAILING",
]

FAILING = ("failed", "error", "timeout")   # the outcomes of a run that failed in some way


# -- what a run showed ------------------------------------------------------------------------------------
def observed(run: PytestRun) -> Iterator[tuple[str | None, str | None, str | None]]:
    """Every error a run showed, as (type, message, phase): test phases, their causes, logs and warnings."""
    for case in run.cases:
        for error in case.errors:
            yield error.get("type"), error.get("message"), error.get("phase")
        for cause in case.chain:
            yield cause.get("type"), cause.get("message"), case.phase
    for event in run.events:
        if event["event"] == "log":
            yield event.get("error_type"), f"{event.get('message')}\n{event.get('error_message') or ''}", "log"
        elif event["event"] == "warning":
            yield event.get("category"), event.get("message"), "log"


def output_error(output: str | None) -> tuple[str | None, str | None]:
    """The first ``E   SomeError: message`` line pytest printed: the only trace of an error outside any test
    (a conftest that fails to import, e.g. ``loop_scope=`` on pytest-asyncio < 0.24)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output or "")  # a kernel's FORCE_COLOR beats --color=no
    match = re.search(r"^E\s+([A-Za-z_][\w.]*)(?::\s*(.*))?$", plain, re.M)
    return (match.group(1), (match.group(2) or "").strip()) if match else (None, None)


def first_error(run: PytestRun) -> tuple[str | None, str | None]:
    """The error a result reports: the first failing test's, else the timeout, else the first observed error,
    else the first error pytest printed."""
    failure = run.first_failure
    if failure is not None:
        return failure.error_type, failure.message
    if run.outcome == "timeout":
        return "timeout", "the run was killed at its timeout"
    for kind, message, _ in observed(run):
        if kind:
            return kind, message
    return output_error(run.output)


# -- symptoms ---------------------------------------------------------------------------------------------
def symptom_matches(symptom: Symptom, error_type: str | None, message: str | None, phase: str | None = None) -> bool:
    """True when an observed error (type name, possibly dotted, message and phase) is this symptom."""
    if not error_type:
        return False
    if re.fullmatch(symptom.error_type, short_type(error_type) or "") is None:  # a name, or names joined by |
        return False
    if symptom.phase not in ("any", phase):
        return False
    return re.search(symptom.message, message or "", re.S) is not None


def symptom_seen(symptom: Symptom, run: PytestRun) -> bool:
    if symptom.error_type == "timeout":
        return run.outcome == "timeout"
    return any(symptom_matches(symptom, kind, message, phase) for kind, message, phase in observed(run))


def secondary_seen(scenario: Scenario, run: PytestRun) -> list[str]:
    """The entry's secondary symptoms (fallout later in the same run) this run showed, as ``Type: message``."""
    return [f"{s.error_type}: {s.message}" for s in scenario.secondary if symptom_seen(s, run)]


# -- verdicts ---------------------------------------------------------------------------------------------
def passed(outcome: str, tests_passed: int) -> bool:
    """A run passed: its outcome is ``passed`` and at least one test passed."""
    return outcome == "passed" and tests_passed > 0


def reproduced(scenario: Scenario, variant: str, run: PytestRun, driver: str = "asyncpg") -> bool:
    """The broken variant did what its entry declares on ``driver`` (showed its symptom, or passed, or failed
    otherwise: ``[drivers]``); the fixed variant passed."""
    if variant == "broken":
        expected, symptom = scenario.broken_on(driver)
        if symptom is not None:
            return symptom_seen(symptom, run)
        return as_declared("passed" if expected == "passes" else "fails", run.outcome, False, run.count("passed"))
    return passed(run.outcome, run.count("passed"))


# -- the [versions] declarations --------------------------------------------------------------------------
def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def versions_match(rules: list[str] | str | None, versions: dict) -> bool:
    """True when any rule holds for ``versions``; a rule is ``pkg<spec>`` or several joined with `` and ``."""
    from packaging.requirements import Requirement

    if not rules:
        return False
    for rule in [rules] if isinstance(rules, str) else rules:
        holds = True
        for part in rule.split(" and "):
            requirement = Requirement(part.strip())
            installed = versions.get(_canonical(requirement.name))
            if installed is None or not requirement.specifier.contains(installed, prereleases=True):
                holds = False
                break
        if holds:
            return True
    return False


def expected_for(scenario: Scenario, variant: str, versions: dict) -> tuple[str, str | None]:
    """What the variant should do under ``versions``, and the declaration's reason if one applied.

    ``symptom``: the broken variant shows the entry's symptom (the catalogue's default); ``passed``: every test
    passes; ``fails``: the run fails in some other way (``broken_differs_on``, ``fixed_fails_on``).
    """
    table = scenario.versions or {}
    reason = table.get("reason")
    if variant == "broken":
        if versions_match(table.get("broken_passes_on"), versions):
            return "passed", reason
        if versions_match(table.get("broken_differs_on"), versions):
            return "fails", reason
        return "symptom", None
    if versions_match(table.get("fixed_fails_on"), versions):
        return "fails", reason
    return "passed", None


def as_declared(expected: str, outcome: str, was_reproduced: bool, tests_passed: int) -> bool:
    """Whether a variant's run (its outcome, whether it reproduced, how many tests passed) is what
    :func:`expected_for` said."""
    if expected == "symptom":
        return was_reproduced
    if expected == "passed":
        return passed(outcome, tests_passed)
    return outcome in FAILING
