"""Regenerate the recorded runs that ``tests/test_rules.py`` classifies: one per catalogue entry.

For every catalogue entry of kind "pytest" (or the ids given), this assembles the entry's ``broken`` variant
into a temp directory, runs it once with kit's recorder on a fresh scratch database (a cold pytest subprocess,
the entry's own time limit: the way ``kit diagnose`` runs a user's suite), and writes here:

``<entry-id>.jsonl``      the recorder's event file (``pytest -p kit.plugin --kit-record FILE``), as written
``<entry-id>.meta.json``  what the runner saw outside that file: exit code, whether the run hit its timeout
                          (then the hang dump kit took before killing it), the duration and the time limit

Paths and names that change per machine or per run are replaced by placeholders: the assembled project's
directory by ``<project>``, site-packages by ``<site-packages>``, the standard library by ``<stdlib>``, kit's own
package by ``<kit>``, the scratch database's name by ``<database>``. Passwords are already masked by the recorder
(``***``); this script refuses to write a file that still contains the server's password.

Run it by hand, from the repository root, after a change to the recorder's event format or to an entry's
broken variant (then check ``tests/test_rules.py`` still says what each entry is, and commit the files)::

    python tests/data/records/regenerate.py                       # every pytest entry, ~1 minute
    python tests/data/records/regenerate.py shared-session-gather # just these
    KIT_STATE_DIR=/tmp/kit-state python tests/data/records/regenerate.py   # a throwaway embedded server

The database is the one kit would use: ``DATABASE_URL`` when set (a test database), else kit's embedded server.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import sysconfig
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import kit
from kit.catalogue.scenario import assemble, catalogue, get_scenario
from kit.db.redis_target import scratch_redis
from kit.db.target import resolve_target, scratch_database
from kit.run.runner import run_pytest

HERE = Path(__file__).resolve().parent


def _placeholders(project: Path, database: str) -> list[tuple[str, str]]:
    pairs = [(str(project.resolve()), "<project>"), (str(project), "<project>"),
             (sysconfig.get_paths()["purelib"], "<site-packages>"), (sysconfig.get_paths()["stdlib"], "<stdlib>"),
             (str(Path(kit.__file__).resolve().parent), "<kit>"), (database, "<database>")]
    return sorted(set(pairs), key=lambda pair: -len(pair[0]))  # longest first: a project under /tmp before /tmp


def _normalise(text: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        text = text.replace(old, new)
    # pytest prints some paths relative to the project: ../../../<site-packages>/... depends on the temp dir's depth
    return re.sub(r"(?:\.\./)*\.\.(?=<(?:site-packages|stdlib|kit)>)", "", text)


def _merged(record: Path) -> str:
    """The record file, or under pytest-xdist the controller's and every worker's streams merged into one, with
    each worker's loop labels and ids qualified (gw0:L1) and the events in time order, as kit's reader sees them."""
    from kit.run.streams import merge_streams, read_stream, stream_files

    files = stream_files(record)
    if len(files) == 1:
        return record.read_text(errors="replace")
    merged = sorted(merge_streams([read_stream(f) for f in files]), key=lambda event: event.get("t") or 0.0)
    return "".join(json.dumps(event) + "\n" for event in merged)


def record(entry_id: str, target, out: Path = HERE) -> Path:
    """Run ``entry_id``'s broken variant once and write its record and meta files into ``out``."""
    scenario = get_scenario(entry_id)
    if scenario.kind != "pytest":
        raise SystemExit(f"{entry_id} is a {scenario.kind} entry: only pytest entries have recorder files")
    limit = scenario.time_limit("broken")
    with tempfile.TemporaryDirectory(prefix=f"kit-record-{entry_id}-") as scratch, \
            scratch_database(target, f"rec_{entry_id}") as database, contextlib.ExitStack() as services:
        env = {"REDIS_URL": services.enter_context(scratch_redis())} if "redis" in scenario.services else {}
        project = assemble(scenario, "broken", Path(scratch) / "project")
        events = Path(scratch) / "record.jsonl"
        # --kit-record wins over the KIT_RECORD_FILE the runner sets for its own (temporary) record
        run = run_pytest(project, database.url, args=[f"--kit-record={events}"], timeout=limit, warm=False,
                         env=env)
        secrets = [target.password] + [urlsplit(url).password for url in env.values()]
        pairs = _placeholders(project, database.database)
        lines = _normalise(_merged(events), pairs)
        meta = {"entry": entry_id, "variant": "broken", "exit_code": run.exit_code,
                "timed_out": run.outcome == "timeout", "timeout_s": limit, "duration_s": run.duration_s,
                "hang_dump": _normalise(run.hang_dump, pairs) if run.hang_dump else None}
    meta_text = json.dumps(meta, indent=2) + "\n"
    for text in (lines, meta_text):
        if any(secret and secret in text for secret in secrets):
            raise SystemExit(f"{entry_id}: a server's password is in the record; the recorder did not mask it")
    (out / f"{entry_id}.jsonl").write_text(lines)
    (out / f"{entry_id}.meta.json").write_text(meta_text)
    return out / f"{entry_id}.jsonl"


def main(argv: list[str]) -> int:
    ids = argv or [s.id for s in catalogue() if s.kind == "pytest"]
    target = resolve_target()
    for entry_id in ids:
        path = record(entry_id, target)
        print(f"{entry_id:<36} {len(path.read_text().splitlines()):>4} events -> {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
