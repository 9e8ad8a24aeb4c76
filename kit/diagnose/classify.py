"""Classification: a recorded run in, findings out, as one pure function (:func:`classify`).

It runs no process and reads nothing but the run and, only when a different-loop failure needs it, the
suite's source, so every rule can be tested on recorded or synthetic runs. The order matters: roots first
(failures that show their cause by themselves), then problems that fail no test, then fallout of those roots,
then errors that were only logged; anything left is ``unknown`` with its raw error, never forced into an entry.
"""

from __future__ import annotations

from pathlib import Path

from kit.diagnose.evidence import Evidence, raw_evidence, runner_context
from kit.diagnose.fallout import log_findings, secondary_of, unused_override
from kit.diagnose.model import UNKNOWN, Diagnosis, Finding, new_finding
from kit.diagnose.notes import killed_early, latent_notes
from kit.diagnose.rules import LOOP_CAUSES, hung_phase, rollback_leak, root_rule, silent_concurrency
from kit.run.runner import PytestRun

__all__ = ["classify"]


def classify(run: PytestRun, suite: str = "", project: Path | None = None) -> Diagnosis:
    """Turn a recorded run into findings. ``project`` (the suite's directory) lets kit read its sources for
    the one thing the recorder cannot see: an ``event_loop`` fixture that pytest-asyncio ignores."""
    ev = Evidence.of(run, project)
    context = runner_context(run.config)  # the fixes must fit the suite's runner
    failing = [c for c in run.cases if c.outcome in ("failed", "error", "timeout")]
    findings: dict[str, Finding] = {}
    roots: list[Finding] = []

    # 1. roots: failures that show their cause by themselves
    for case in failing:
        cached = _cached_setup_error(case, roots)
        if cached is not None:  # pytest re-raised a wider fixture's cached error: the same failure, not a new one
            findings[case.nodeid] = new_finding(case, cached.cause, [
                f"the very error {cached.nodeid} raised at setup, re-raised by pytest for a fixture it caches "
                f"(module or session scope): fallout of {cached.nodeid}"], root=cached.nodeid,
                basis=["fallout", *cached.basis], context=context)
            continue
        rule = root_rule(case, ev)
        if rule is not None:
            phase = hung_phase(run) if case.outcome == "timeout" else None
            finding = new_finding(case, rule[0], rule[1], phase=phase or case.phase, basis=rule[2], context=context)
            if case.outcome == "timeout":
                finding.error_type, finding.message = "timeout", case.message
            findings[case.nodeid] = finding
            roots.append(finding)

    # 2. silent problems the evidence shows, even in passing tests
    leak = rollback_leak(run, ev, findings, context)
    if leak is not None:
        findings[leak.nodeid] = leak
        roots.append(leak)
    for finding in silent_concurrency(run, ev, findings, context):
        findings[finding.nodeid] = finding
        roots.append(finding)

    loop_roots = [f for f in roots if f.cause in LOOP_CAUSES]
    # 3. fallout: failures an earlier (or, for TestClient, a sibling) root explains; else the TestClient's unused
    # override seen alone (each test on an xdist worker of its own); else unknown
    overrides: list[Finding] = []
    for case in failing:
        if case.nodeid in findings:
            continue
        root, cause, evidence = secondary_of(case, ev, roots, loop_roots)
        if root is not None:
            findings[case.nodeid] = new_finding(case, cause, evidence, root=root.nodeid,
                                                basis=["fallout", *root.basis], context=context)
        elif (rule := unused_override(case, ev)) is not None:
            findings[case.nodeid] = new_finding(case, rule[0], rule[1], basis=rule[2], context=context)
            overrides.append(findings[case.nodeid])
        else:
            findings[case.nodeid] = _unknown(case, ev)

    # 4. logged-only errors: fallout of a loop root, or a finding of their own
    extra = log_findings(ev, loop_roots + overrides, context)
    ordered = [findings[c.nodeid] for c in run.cases if c.nodeid in findings] + extra
    return Diagnosis(suite, run.count("passed"), run.count("failed"), run.count("error") + run.count("timeout"),
                     run.config, ordered, run, notes=latent_notes(ev) + killed_early(run))


def _cached_setup_error(case, roots: list[Finding]) -> Finding | None:
    """The earlier root whose setup error this case repeats word for word: a fixture of wider scope failed once
    and pytest hands every later test of its scope the same exception."""
    if case.phase != "setup" or not case.message:
        return None
    return next((r for r in roots if r.phase == "setup" and r.error_type == case.error_type
                 and r.message == case.message and r.cause != UNKNOWN), None)


def _unknown(case, ev: Evidence) -> Finding:
    """A failure no entry claims: its raw error, plus a connection the recorder saw held across loops, if any."""
    held = ev.held_lines(case)
    return new_finding(case, UNKNOWN, raw_evidence(case) + held, basis=["message", *(["pool"] if held else [])])
