"""``kit fix``: the investigation's step 4, automated: repair a copy of the suite, and prove it by rerunning.

Each round diagnoses the copy exactly as ``kit diagnose`` does (same database rules), then takes the root causes
one at a time: the cause's repair (:mod:`kit.diagnose.repair.plan`) is written into the copy and the suite rerun.
The repair is kept only when its cause is gone from the roots and no test that passed before fails now; otherwise
every file it touched is put back and the cause is reported unfixed with what the rerun showed. Secondary findings
get no edit of their own: they must disappear with their root. Rounds stop when nothing is left to repair, a round
kept nothing, or ``rounds`` are spent. The user's files are touched only by :func:`kit.diagnose.repair.apply`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kit.common.html import card, table
from kit.common.text import one_line, short_type
from kit.diagnose.model import UNKNOWN, Diagnosis
from kit.diagnose.repair.plan import Repair, plan_repair
from kit.diagnose.repair.workspace import Workspace
from kit.diagnose.run import DEFAULT_TIMEOUT, check_suite_path, checked_target, diagnose_as_kit_does
from kit.errors import DiagnoseError

__all__ = ["Counts", "Edit", "Round", "Unfixed", "FixResult", "fix_suite", "record_fix", "render_fix", "verdict"]


@dataclass
class Counts:
    passed: int
    failed: int
    errors: int

    @classmethod
    def of(cls, diagnosis: Diagnosis) -> Counts:
        return cls(diagnosis.passed, diagnosis.failed, diagnosis.errors)

    def __str__(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.errors} errors"


@dataclass
class Edit:
    file: str
    line: int
    cause: str
    description: str


@dataclass
class Round:
    edits: list[Edit] = field(default_factory=list)
    passed: int = 0
    failed: int = 0
    errors: int = 0
    rolled_back: list[dict] = field(default_factory=list)  # {"cause", "files", "reason"}: repairs that did not hold


@dataclass
class Unfixed:
    nodeid: str
    cause: str
    reason: str
    error: str = ""  # what the test showed (type: message), so the reader sees what was left


@dataclass
class FixResult:
    suite: str
    before: Counts
    after: Counts
    green: bool
    rounds: list[Round] = field(default_factory=list)
    unfixed: list[Unfixed] = field(default_factory=list)
    patch: str = ""
    alternatives: dict[str, str] = field(default_factory=dict)     # cause -> the fixes kit did not choose
    originals: dict[str, str | None] = field(default_factory=dict, repr=False)
    changed: dict[str, str | None] = field(default_factory=dict, repr=False)
    findings_left: int = 0
    database: str = ""
    target_kind: str | None = None

    def as_dict(self) -> dict:
        return {"suite": self.suite, "before": asdict(self.before), "after": asdict(self.after), "green": self.green,
                "rounds": [asdict(r) for r in self.rounds], "unfixed": [asdict(u) for u in self.unfixed],
                "patch": self.patch}

    def _repr_html_(self) -> str:
        edits = [(i, f"{e.file}:{e.line}", e.cause, e.description) for i, r in enumerate(self.rounds, 1)
                 for e in r.edits]
        edits += [(i, ", ".join(b["files"]), b["cause"], b["reason"]) for i, r in enumerate(self.rounds, 1)
                  for b in r.rolled_back]
        body = table(("round", "where", "cause", "what changed, and why"), edits)
        if self.alternatives:
            body += table(("cause", "also possible"), [(c, a) for c, a in self.alternatives.items() if a])
        if self.unfixed:
            body += table(("left unfixed", "cause", "error", "why no edit"),
                          [(u.nodeid, u.cause, u.error, u.reason) for u in self.unfixed])
        verdict = f"before: {self.before}; after: {self.after}; " + (
            "green" if self.green else f"{self.findings_left} findings left")
        return card(f"kit fix: {Path(self.suite).name}", self.green, verdict, body)


Progress = Callable[[str], None]


def fix_suite(path: Path, url: str | None = None, *, rounds: int = 3, timeout: float = DEFAULT_TIMEOUT,
              args: tuple[str, ...] | list[str] = (), driver: str | None = None, allow_any_database: bool = False,
              progress: Progress | None = None) -> FixResult:
    """Repair a copy of the suite at ``path`` until no root finding is left (see the module's docstring)."""
    say = progress or (lambda line: None)
    project = check_suite_path(path)
    _own_configuration(project)
    target = checked_target(url, allow_any_database)

    def run(label: str) -> Diagnosis:
        say(f"running the suite ({label}) ...")
        try:
            diagnosis = diagnose_as_kit_does(work.root, target, url, args=args, timeout=timeout, driver=driver)
        except DiagnoseError as error:  # name the user's directory, not the scratch copy (gone by then)
            raise DiagnoseError(str(error).replace(str(work.root), str(project))) from None
        unknown = sum(f.cause == UNKNOWN for f in diagnosis.roots)
        say(f"  {Counts.of(diagnosis)}; root causes: {len(diagnosis.roots) - unknown} kit knows"
            + (f", {unknown} unknown (never edited)" if unknown else ""))
        return diagnosis

    with tempfile.TemporaryDirectory(prefix="kit-fix-") as scratch:
        work = Workspace(project, Path(scratch))
        current = first = run("before any edit")
        result = FixResult(str(project), Counts.of(first), Counts.of(first), False, database=first.database,
                           target_kind=target.kind)
        declined: dict[str, str] = {}  # cause -> why it got (or kept) no edit
        for number in range(1, max(1, rounds) + 1):
            causes = {f.cause: f for f in current.roots if f.cause not in declined}
            if not causes:
                break
            this = Round()
            for cause, finding in causes.items():
                planned = plan_repair(finding, current, work.root)
                if isinstance(planned, str):
                    declined[cause] = planned
                    continue
                kept = _try(planned, current, work, run, this, number)
                if kept is None:
                    declined[cause] = this.rolled_back[-1]["reason"]
                else:
                    current = kept
                    result.alternatives[cause] = planned.alternatives
            counts = Counts.of(current)
            this.passed, this.failed, this.errors = counts.passed, counts.failed, counts.errors
            if this.edits or this.rolled_back:
                result.rounds.append(this)
            if not this.edits:
                break
        result.after = Counts.of(current)
        result.findings_left = len(current.findings)
        result.green = not current.findings and not current.failed and not current.errors
        result.unfixed = [Unfixed(f.nodeid, f.cause, declined.get(f.cause)
                                  or ("kit makes no edit for a failure it cannot explain" if f.cause == UNKNOWN
                                      else "the rounds ran out before it was repaired"),
                                  one_line(f"{short_type(f.error_type)}: {f.message or ''}", 160))
                          for f in current.roots]
        result.originals = {rel: work.originals[rel] for rel in work.changed()}
        result.changed = work.changed()
        result.patch = work.patch()
    return result


def _own_configuration(project: Path) -> None:
    """kit fix repairs a copy of PATH alone: a suite whose pytest configuration (or conftest.py) lives in a parent
    directory would run differently there, so it is refused with the directory to pass instead."""
    from kit.diagnose.repair.cfgedit import config_file

    if config_file(project) is not None:
        return
    for parent in project.parents:
        if config_file(parent) is not None or (parent / "conftest.py").is_file():
            raise DiagnoseError(f"{project} is configured by {parent} (its pytest configuration or conftest.py), "
                                f"and kit fix repairs a copy of the directory it is given: run `kit fix {parent} -- "
                                f"{project.relative_to(parent)}` so the copy holds that configuration too.")
        if (parent / ".git").exists():
            return


def _try(repair: Repair, current: Diagnosis, work: Workspace, run: Callable[[str], Diagnosis], this: Round,
         number: int) -> Diagnosis | None:
    """Write one cause's repair into the copy and rerun: the new diagnosis when it held, else None (undone)."""
    undo = [(change.file, work.write(change.file, change.text)) for change in repair.changes]
    files = ", ".join(dict.fromkeys(c.file for c in repair.changes))
    after = run(f"round {number}: {repair.cause} repaired in {files}")
    still = [f for f in after.roots if f.cause == repair.cause]
    was_passing = {c.nodeid for c in current.run.cases if c.outcome == "passed"} if current.run else set()
    broke = [c.nodeid for c in (after.run.cases if after.run else []) if c.nodeid in was_passing
             and c.outcome != "passed"]
    if not still and not broke:  # the why once per repair, on its first edit
        this.edits += [Edit(c.file, c.line, repair.cause, f"{c.description}: {repair.why}" if i == 0 else c.description)
                       for i, c in enumerate(repair.changes)]
        return after
    for rel, before in reversed(undo):
        work.undo(rel, before)
    reason = (f"rolled back: {len(still)} {repair.cause} finding(s) remained after the edit" if still else
              f"rolled back: it made {broke[0]} fail, which passed before")
    this.rolled_back.append({"cause": repair.cause, "files": sorted({c.file for c in repair.changes}),
                             "reason": reason})
    return None


def render_fix(result: FixResult, final: bool = True) -> str:
    """The terminal report: before and after, each round's edits, what is left, and the verdict line."""
    lines = [f"kit fix: {result.suite}", f"  database: {result.database}", f"  before: {result.before}"]
    for number, this in enumerate(result.rounds, 1):
        lines.append(f"round {number}: {Counts(this.passed, this.failed, this.errors)}")
        lines += [f"  {e.file}:{e.line}  {e.cause}  {e.description}" for e in this.edits]
        lines += [f"  {r['cause']}: {r['reason']} ({', '.join(r['files'])})" for r in this.rolled_back]
    for cause, alternatives in result.alternatives.items():
        if alternatives:
            lines.append(f"  {cause}: also possible: {alternatives}")
    lines.append(f"  after: {result.after}")
    for item in result.unfixed:
        lines.append(f"unfixed {item.nodeid}  {item.cause}: {item.reason}")
        if item.error:
            lines.append(f"        {item.error}")
    if result.patch:
        lines.append(f"patch: {len(result.patch.splitlines())} lines over {len(result.changed)} file(s)")
    if final:
        lines.append(verdict(result))
    return "\n".join(lines)


def verdict(result: FixResult) -> str:
    """The last line of the report: ``green`` or ``N findings left``."""
    return "green" if result.green else f"{result.findings_left} findings left"


def record_fix(result: FixResult) -> None:
    """Append the fix run to the records store: one record, its rounds, edits and outcomes in ``details``."""
    from kit.common.versions import collect_versions
    from kit.run.records import RunRecord, append_records, new_run_id

    append_records([RunRecord(
        "fix", result.suite, "passed" if result.green else "failed", variant=None, versions=collect_versions(),
        target_kind=result.target_kind, run_id=new_run_id(),
        details={"before": asdict(result.before), "after": asdict(result.after), "green": result.green,
                 "rounds": [asdict(r) for r in result.rounds], "unfixed": [asdict(u) for u in result.unfixed],
                 "patch_lines": len(result.patch.splitlines())})])
