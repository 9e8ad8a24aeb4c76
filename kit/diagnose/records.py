"""``kit diagnose --records``: classify what ran elsewhere (CI shards, xdist workers) without rerunning anything.

A CI job that ran ``pytest -p kit.plugin --kit-record FILE`` leaves FILE (and, under pytest-xdist, FILE.gw0,
FILE.gw1... beside it): those are uploaded as artifacts, and this module turns any number of them back into one
run. Each record file with its worker streams is one shard; with several shards every loop label is qualified by
the shard's name as well (``shard-2.gw0:L1``), so the rules never compare loops of different machines. Files are
read line by line. What cannot be read is said in one paragraph: a path that does not exist, a directory with no
record in it, a file that holds no kit event; a torn last line is skipped, and a stream from a newer kit is left
out with a warning.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from kit.diagnose.classify import classify
from kit.diagnose.model import Diagnosis
from kit.errors import DiagnoseError
from kit.recorder import events
from kit.run.runner import PytestRun, fold_events, overall_outcome
from kit.run.streams import merge_streams, read_stream, stream_files

__all__ = ["diagnose_records", "record_shards"]


def _is_record(path: Path) -> bool:
    """True when the file's first readable line is a kit event."""
    try:
        with path.open(errors="replace") as handle:
            for line in handle:
                if line.strip():
                    return next(events.decode([line]), {}).get("event") is not None
    except OSError:
        return False
    return False


def record_shards(paths: list[Path]) -> list[list[Path]]:
    """The shards given (files, or directories searched for record files): each a record file and its worker
    streams. A paragraph for what cannot be a record; directories' other files are skipped silently."""
    files: list[Path] = []
    for path in paths:
        path = Path(path).expanduser()
        if not path.exists():
            raise DiagnoseError(f"There is no file or directory '{path}'. Pass the record files your CI runs wrote "
                                "(`pytest -p kit.plugin --kit-record FILE`), or the directory the artifacts were "
                                "downloaded to.")
        if path.is_dir():
            found = [p for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".") and _is_record(p)]
            if not found:
                raise DiagnoseError(f"The directory '{path}' holds no kit record file. A record is what "
                                    "`pytest -p kit.plugin --kit-record FILE` writes (JSON lines of kit events); "
                                    "download the CI artifacts there, or pass the files themselves.")
            files += found
        elif not _is_record(path):
            raise DiagnoseError(f"'{path}' is not a kit record file (its first line is not a kit event). A record "
                                "is what `pytest -p kit.plugin --kit-record FILE` writes; pass that file.")
        else:
            files += stream_files(path)  # with the worker streams written beside it
    files = list(dict.fromkeys(p.resolve() for p in files))
    shards: dict[Path, list[Path]] = {}
    for path in files:  # a worker's stream goes with its controller's file when that was given too
        base = path.with_name(events.record_of_stream(path.name) or path.name)
        shards.setdefault(base if base in files else path, []).append(path)
    return [sorted(group, key=lambda p: (p != base, len(p.name), p.name)) for base, group in shards.items()]


def _labels(shards: list[list[Path]]) -> list[str | None]:
    """No label for one shard; else each shard's file name, made unique with its directory when names repeat."""
    if len(shards) == 1:
        return [None]
    names = [s[0].name.removesuffix(".jsonl") for s in shards]
    if len(set(names)) < len(names):
        names = [f"{s[0].parent.name}/{n}" for s, n in zip(shards, names)]
    return names


def _shards_repeat_tests(shards: list[list[Path]]) -> bool:
    """Whether two shards ran a test with the same id (a pass over the files' ``start`` events only)."""
    seen: dict[str, int] = {}
    for index, shard in enumerate(shards):
        for path in shard:
            for event in read_stream(path):
                if event.get("event") == events.START and seen.setdefault(event["nodeid"], index) != index:
                    return True
    return False


def diagnose_records(paths: list[Path]) -> Diagnosis:
    """One diagnosis of every shard and worker stream in ``paths``, as ``kit diagnose`` gives for a run."""
    shards = record_shards(paths)
    labels = _labels(shards)
    streams = [read_stream(f, shard=label) for shard, label in zip(shards, labels) for f in shard]
    if len(shards) > 1 and _shards_repeat_tests(shards):  # e.g. one suite on two Python versions: two results
        for stream in streams:
            stream.shard_tests = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cases, found, config = fold_events(merge_streams(streams), ordered=True)
    skipped = [str(w.message) for w in caught]
    older = [s.name for s in streams if s.format < events.FORMAT and s.config]
    for case in cases:
        if case.outcome == "running":  # the record ends inside this test: the job was killed, or the file torn
            case.outcome, case.error_type = "timeout", "timeout"
            case.message = "the record ends mid-test (the CI job was killed, or the file was cut short)"
    if not cases:
        raise DiagnoseError("The records hold no test: " + (" ".join(skipped) if skipped else
                            "each file ends before pytest ran any test (a collection error, or a file cut short). "
                            "Diagnose the job's pytest output, or run `kit diagnose PATH` on the suite."))
    times = [e.get("t") for e in found if e.get("t")]
    run = PytestRun(overall_outcome(1 if any(c.outcome != "passed" for c in cases) else 0, cases, False), None,
                    cases, found, config, round(max(times) - min(times), 3) if times else 0.0, "")
    workers = len(config.get("workers") or [])
    label = ", ".join(s[0].name for s in shards) if len(shards) > 1 else str(shards[0][0])
    diagnosis = classify(run, label)
    diagnosis.database = (f"records: {len(shards)} shard(s), {len(streams)} stream(s)"
                          + (f", {workers} xdist worker(s)" if workers else "") + ", nothing rerun"
                          + (f"; left out: {' '.join(skipped)}" if skipped else "")
                          + (f"; recorded by an older kit, read as is: {', '.join(older)}" if older else ""))
    return diagnosis
