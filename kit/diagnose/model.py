"""What ``kit diagnose`` concludes: one :class:`Finding` per problem, gathered in a :class:`Diagnosis`.

These are plain records, so the CLI (``--json``), the HTML page, the notebook and the tests all read the same
fields. A finding's ``cause`` is a catalogue id, or :data:`UNKNOWN` with the raw error: kit never forces a
failure into an entry it does not match. A failure that an earlier one caused is ``secondary`` and names its
``root``, so the report leads with the few causes and not with the dozens of failures they produced.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kit.diagnose.advisor import Advice
    from kit.run.runner import CaseResult, PytestRun

__all__ = ["root_groups", "counts_line", "UNKNOWN", "OBSERVED", "Finding", "Note", "Diagnosis", "new_finding",
           "fix_for", "confidence_of"]

UNKNOWN = "unknown"
_UNKNOWN_FIX = ("kit cannot match this failure to a catalogue entry. Read the error and its frames below; "
                "`kit scenarios list` shows the conflicts kit knows, and the first failing test usually shows the "
                "cause.")


@dataclass
class Finding:
    """One problem: a failing test (or a silent one in a passing test, or a logged-only error)."""

    nodeid: str
    phase: str
    cause: str                       # catalogue id or "unknown"
    secondary: bool
    error_type: str | None
    message: str | None
    evidence: list[str] = field(default_factory=list)
    fix: str = ""
    root: str | None = None          # for a secondary: the nodeid of the root finding
    basis: list[str] = field(default_factory=list)  # the kinds of evidence it rests on (see OBSERVED)
    confidence: str = ""             # high | medium | low, from the basis (:func:`confidence_of`)

    @property
    def why(self) -> str:
        """How sure, and on what: ``high: pool, loops`` or ``low: rests on the error message alone``."""
        if self.cause == UNKNOWN:
            return f"{self.confidence}: no catalogue entry matches (evidence seen: {', '.join(self.basis)})"
        if self.basis == ["message"]:
            return f"{self.confidence}: rests on the error message alone"
        return f"{self.confidence}: {', '.join(self.basis)}" if self.basis else self.confidence

    def as_dict(self) -> dict:
        data = asdict(self)
        if not self.secondary:
            data.pop("root")
        return data


@dataclass
class Note:
    """Something the run shows that fails nothing and is not a loop conflict yet, e.g. engines never disposed.
    Reported beside the findings, never as a root and never a reason for exit code 1."""

    kind: str                        # e.g. "undisposed-connections"
    message: str
    count: int
    where: list[str] = field(default_factory=list)   # tests (or "(session)") where the run showed it
    fix: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Diagnosis:
    """A suite's run and everything found in it; ``as_dict()`` is the ``kit diagnose --json`` document."""

    suite: str
    passed: int
    failed: int
    errors: int
    config: dict
    findings: list[Finding]
    run: PytestRun | None = field(default=None, repr=False)
    database_gone: str | None = None   # set when the server stopped answering during the run
    advice: list[Advice] = field(default_factory=list)  # what breaks on the next release lines
    notes: list[Note] = field(default_factory=list)      # latent problems the run shows (no finding, no exit 1)
    database: str = ""                                   # which database and driver the suite ran on, and why

    @property
    def roots(self) -> list[Finding]:
        return [f for f in self.findings if not f.secondary]

    def as_dict(self) -> dict:
        return {"suite": self.suite, "passed": self.passed, "failed": self.failed, "errors": self.errors,
                "config": self.config, "findings": [f.as_dict() for f in self.findings],
                "advice": [a.as_dict() for a in self.advice], "notes": [n.as_dict() for n in self.notes]}

    def _repr_html_(self) -> str:
        """In a notebook cell: the findings (root, then its fallout), the fix and the advice, as HTML (the loop
        timeline is its own figure: ``kit.diagnose.timeline(diagnosis)``)."""
        from kit.diagnose.html import render_fragment

        return render_fragment(self, timeline=False)


# Evidence kinds the recorder observed inside the run, against those read from text (the message, the config,
# the suite's source). A finding resting on observed kinds is "high"; on text plus settings "medium"; on the
# message alone "low", and it says so.
OBSERVED = frozenset({"pool", "loops", "rows", "tasks", "hang-dump", "log", "threads", "objects", "schema"})


def confidence_of(basis: list[str]) -> str:
    if OBSERVED.intersection(basis):
        return "high"
    return "medium" if set(basis) - {"message"} else "low"


def fix_for(cause: str, context: str | None = None) -> str:
    """The fix to print for a cause, on one line: the catalogue entry's own, or its variant for ``context``
    (the suite's runner, ``anyio`` or ``sync``; ``sync-session``), where the entry has one."""
    if cause == UNKNOWN:
        return _UNKNOWN_FIX
    from kit.catalogue.scenario import get_scenario

    return " ".join(get_scenario(cause).fix_in(context).split())


def new_finding(case: CaseResult, cause: str, evidence: list[str], *, phase: str | None = None,
                root: str | None = None, basis: list[str] | tuple[str, ...] = ("message",),
                context: str | None = None) -> Finding:
    """The finding for ``case``: secondary exactly when it has a ``root``, with the cause's fix (for the suite's
    ``context``) and the confidence its ``basis`` gives."""
    kinds = list(dict.fromkeys(basis))
    confidence = "low" if cause == UNKNOWN else confidence_of(kinds)  # no entry: nothing to be sure of
    return Finding(case.nodeid, phase or case.phase or "call", cause, root is not None, case.error_type,
                   case.message, evidence, fix_for(cause, context), root, kinds, confidence)


def root_groups(diagnosis: Diagnosis) -> list[tuple[Finding, list[Finding], list[Finding]]]:
    """Each root to show, with the other roots that failed with the identical unknown error (same type and
    message: folded under it, so forty identical failures read in a screen) and its secondaries. Text and
    HTML both use this, so their counts agree."""
    groups: list[tuple[Finding, list[Finding], list[Finding]]] = []
    first: dict[tuple, list[Finding]] = {}
    for root in diagnosis.roots:
        key = (root.error_type, root.message, tuple(root.evidence))  # identical errors only, raised at one place
        if root.cause == UNKNOWN and key in first:
            first[key].append(root)
            continue
        same: list[Finding] = []
        if root.cause == UNKNOWN:
            first[key] = same
        groups.append((root, same, [f for f in diagnosis.findings if f.secondary and f.root == root.nodeid]))
    return groups


def counts_line(diagnosis: Diagnosis) -> str:
    """``6 root failure(s) in 2 group(s), 1 secondary``: the numbers a reader can check against the blocks."""
    roots, groups = len(diagnosis.roots), len(root_groups(diagnosis))
    secondary = len(diagnosis.findings) - roots
    folded = f" in {groups} group(s) below" if groups != roots else ""
    return f"{roots} root failure(s){folded}, {secondary} secondary"
