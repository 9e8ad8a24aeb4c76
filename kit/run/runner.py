"""Run a pytest project in a real subprocess with kit's recorder, under a hard timeout.

The subprocess gets its own process group, so on timeout kit first asks it where it hangs (the recorder
dumps thread and task stacks on SIGUSR1/SIGUSR2), then kills the whole group: nothing kit starts can
outlive its timeout. Output is captured to a file, never a pipe, so a chatty run cannot deadlock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.common.masking import mask_text
from kit.recorder import events
from kit.run import cancel, forkserver

__all__ = ["CaseResult", "PytestRun", "run_pytest", "parse_events", "fold_events", "read_record", "overall_outcome"]

PHASE_ORDER = ("collect", "setup", "call", "teardown")


@dataclass
class CaseResult:
    """One test (or one module that failed to collect), all phases folded into one outcome."""

    nodeid: str
    outcome: str = "passed"          # passed | failed | error | skipped
    phase: str | None = None         # the phase of the first failure
    error_type: str | None = None
    message: str | None = None
    duration_s: float = 0.0
    loops: dict = field(default_factory=dict)          # phase -> [loop labels]
    fixture_loops: dict = field(default_factory=dict)  # fixture -> loop label
    chain: list = field(default_factory=list)          # causes: [{"type", "message"}]
    frames: list = field(default_factory=list)
    errors: list = field(default_factory=list)         # every failing phase: {"phase", "type", "message"}


@dataclass
class PytestRun:
    outcome: str                      # passed | failed | error | timeout
    exit_code: int | None
    cases: list[CaseResult]
    events: list[dict]                # log, warning and pool events, in order
    config: dict
    duration_s: float
    output: str                       # masked tail of stdout+stderr
    hang_dump: str | None = None

    def count(self, outcome: str) -> int:
        return sum(1 for case in self.cases if case.outcome == outcome)

    @property
    def first_failure(self) -> CaseResult | None:
        return next((c for c in self.cases if c.outcome in ("failed", "error")), None)


def parse_events(lines: Iterable[str]) -> tuple[list[CaseResult], list[dict], dict]:
    """Fold the recorder's events (:mod:`kit.recorder.events`) into per-test results, evidence and config."""
    return fold_events(events.decode(lines))


def read_record(path: Path) -> tuple[list[CaseResult], list[dict], dict]:
    """A run's record file and the streams its xdist workers wrote beside it, merged (:mod:`kit.run.streams`)."""
    from kit.run.streams import merge_streams, read_stream, stream_files

    files = stream_files(path)
    return fold_events(merge_streams([read_stream(f) for f in files]), ordered=len(files) > 1)


def fold_events(stream: Iterable[dict], ordered: bool = False) -> tuple[list[CaseResult], list[dict], dict]:
    """Fold decoded events into per-test results (in the order they started when ``ordered``: several streams),
    evidence and config (the streams' configs merged; ``workers``: the xdist workers seen)."""
    cases: dict[str, CaseResult] = {}
    started: dict[str, float] = {}
    runners: dict[str | None, dict] = {}  # shard -> the tests each runner drives
    evidence: list[dict] = []
    config: dict = {}
    for event in stream:
        kind = event.get("event")
        if kind == events.CONFIG:  # the session's, then the collection's (runners), then each worker's: merged
            if event.get("worker"):
                config.setdefault("workers", [])
                if event["worker"] not in config["workers"]:
                    config["workers"].append(event["worker"])
            if event.get("runners"):  # every worker of one run collects the same tests; CI shards add up
                runners[event.get("shard")] = event["runners"]
            config.update({k: v for k, v in event.items() if k not in ("event", "t", "worker", "shard", "runners")})
        elif kind == events.REPORT:
            case = cases.setdefault(event["nodeid"], CaseResult(event["nodeid"]))
            case.duration_s += event.get("duration", 0.0)
            _fold_report(case, event)
        elif kind == events.START:
            cases.setdefault(event["nodeid"], CaseResult(event["nodeid"], outcome="running"))
            started.setdefault(event["nodeid"], event.get("t") or 0.0)
        elif kind == events.TEST:
            case = cases.setdefault(event["nodeid"], CaseResult(event["nodeid"]))
            if case.outcome == "running":
                case.outcome = "passed"
            case.duration_s += sum(event.get("passed", {}).values())  # the phases that passed
            case.loops = event.get("loops", {})
            case.fixture_loops = event.get("fixture_loops", {})
        elif kind in events.EVIDENCE_KINDS:
            evidence.append(event)
    if runners:
        config["runners"] = {name: sum(r.get(name, 0) for r in runners.values())
                             for name in dict.fromkeys(n for r in runners.values() for n in r)}
    found = list(cases.values())
    if ordered:
        found.sort(key=lambda case: started.get(case.nodeid, 0.0))
        evidence.sort(key=lambda event: event.get("t") or 0.0)
    return found, evidence, config


def _fold_report(case: CaseResult, event: dict) -> None:
    outcome, when = event["outcome"], event["when"]
    if outcome == "skipped" and case.outcome in ("passed", "running"):
        case.outcome, case.message = "skipped", event.get("message")
        return
    if outcome != "failed":
        return
    case.errors.append({"phase": when, "type": event.get("error_type"), "message": event.get("message")})
    folded = "failed" if when == "call" else "error"
    if case.outcome in ("passed", "skipped", "running"):
        case.outcome, case.phase = folded, when
        case.error_type, case.message = event.get("error_type"), event.get("message")
        case.chain, case.frames = event.get("chain", []), event.get("frames", [])


def overall_outcome(exit_code: int | None, cases: list[CaseResult], timed_out: bool) -> str:
    """passed | failed | error | timeout for a whole run (also for notebook runs: exit 1 = a cell failed)."""
    if timed_out:
        return "timeout"
    if any(c.outcome == "failed" for c in cases):
        return "failed"
    if any(c.outcome == "error" for c in cases) or exit_code not in (0, 5) or not cases:
        return "error"
    return "passed"


def run_pytest(
    project: Path,
    database_url: str | None,
    *,
    args: tuple[str, ...] | list[str] = (),
    timeout: float = 120,
    env: dict[str, str] | None = None,
    python: str | None = None,
    cwd: Path | None = None,
    warm: bool = False,
) -> PytestRun:
    """Run ``pytest`` on ``project`` with kit's recorder; never runs longer than ``timeout`` seconds.

    ``warm``: fork the run from a pre-imported interpreter (``kit.run.forkserver``) rather than start a cold
    one; for kit's own projects only, never for a user's suite.
    """
    with tempfile.TemporaryDirectory(prefix="kit-run-") as scratch:
        record, dump, log = (Path(scratch) / name for name in ("record.jsonl", "hang.txt", "output.txt"))
        run_env = {**os.environ, **(env or {}), "KIT_RECORD_FILE": str(record), "KIT_HANG_DUMP": str(dump),
                   "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
        if database_url is not None:
            run_env["DATABASE_URL"] = database_url
        # --tb=native: pytest's own traceback rendering re-reads SQLAlchemy's large modules for every frame
        # (~0.5 s per failure); the recorder has already captured what kit needs.
        interpreter = python or sys.executable
        pytest_args = ["-p", "kit.plugin", "-p", "no:cacheprovider", "-q", "-rN", "--color=no", "--tb=native"]
        started = time.monotonic()
        timed_out = False
        with open(log, "wb") as output:
            process = warm and forkserver.launch(interpreter, [*pytest_args, *forkserver.QUIET_REWRITE, *args],
                                                 str(cwd or project), run_env, str(log))
            if not process:
                process = subprocess.Popen([interpreter, "-m", "pytest", *pytest_args, *args], cwd=cwd or project,
                                           env=run_env, stdin=subprocess.DEVNULL, stdout=output,
                                           stderr=subprocess.STDOUT, preexec_fn=forkserver.own_group_dies_with_parent)
            with cancel.running_group(process.pid):  # its own group: Ctrl-C of kit kills it (kit.run.cancel)
                try:
                    exit_code: int | None = process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    _dump_and_kill(process)
                    exit_code = None
        duration = time.monotonic() - started
        cases, events, config = read_record(record)
        for case in cases:
            if case.outcome == "running":  # the test in flight when the run was killed
                case.outcome, case.error_type = "timeout", "timeout"
                case.message = f"killed after {timeout:.0f} s" if timed_out else "the run ended mid-test"
        text = log.read_text(errors="replace")
        hang = _hang_dumps(dump) if timed_out else None
    return PytestRun(
        outcome=overall_outcome(exit_code, cases, timed_out), exit_code=exit_code, cases=cases, events=events,
        config=config, duration_s=round(duration, 3), output=mask_text(text[-20000:]) or "",
        hang_dump=mask_text(hang[-20000:]) if hang else None,
    )


def _dump_and_kill(process: subprocess.Popen | forkserver.WarmProcess) -> None:
    """Ask the hung run for its stacks, then kill its whole process group.

    Every process of the run that catches the signal is asked (pytest, and its xdist workers, where the tests
    really run): a process of the suite's own that does not would die of it, so it is not sent one."""
    for sig in (signal.SIGUSR1, signal.SIGUSR2):
        asked = [pid for pid in _group(process.pid) if _catches(pid, sig)] or [process.pid]
        for pid in asked:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(0.3)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _group(pgid: int) -> list[int]:
    """The processes of process group ``pgid`` (Linux ``/proc``; just ``pgid`` where there is none)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return [pgid]
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid:  # after "pid (comm)": state, ppid, pgrp
            found.append(int(entry))
    return found or [pgid]


def _catches(pid: int, sig: int) -> bool:
    """Whether process ``pid`` has a handler for ``sig`` (``SigCgt`` in ``/proc/PID/status``)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            caught = next((line.split()[1] for line in status if line.startswith("SigCgt:")), None)
    except OSError:
        return False
    return caught is not None and bool(int(caught, 16) >> (sig - 1) & 1)


def _hang_dumps(dump: Path) -> str | None:
    """The hang dump of the run and of each of its xdist workers (``hang.txt.gw0``...), each headed by its
    worker; None when nothing was dumped."""
    from kit.run.streams import stream_files

    parts = []
    for path in stream_files(dump):  # named as the record's streams are (kit.recorder.events.worker_stream)
        text = path.read_text(errors="replace").strip()
        if text:
            worker = path.name[len(dump.name) + 1:]
            parts.append(f"[{worker}]\n{text}" if worker else text)
    return "\n\n".join(parts) or None


def as_json(run: PytestRun) -> dict[str, Any]:
    """A JSON-able summary of a run (used by CLI outputs and notebooks)."""
    return {
        "outcome": run.outcome, "exit_code": run.exit_code, "duration_s": run.duration_s,
        "passed": run.count("passed"), "failed": run.count("failed"), "errors": run.count("error"),
        "config": run.config,
    }
