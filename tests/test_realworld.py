"""The precision guard: `kit diagnose` on passing suites written the way real projects write them.

Each suite under ``tests/suites/realworld/`` is a small genuine project (a package plus its tests) in one of the
styles found in the wild: fixtures shipped as a pytest plugin with savepoint isolation, AnyIO's plugin instead of
pytest-asyncio, a library that rolls back on purpose, a src layout configured only in pyproject.toml, requirements
files and setup.cfg, an engine never disposed, a pytest plugin tested with pytester. Every one passes under plain
pytest, so `kit diagnose` must say nothing against it: exit code 0, no finding, no `broken-now` advice, and the same
passed/failed/error counts as plain pytest.

Everything runs for real: each suite is copied twice (one copy for plain pytest, one for the real ``kit`` command),
each run in its own scratch database on the session's embedded PostgreSQL, every suite at once in a thread pool,
once per module.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Completed, kit_cli

from kit.db.target import scratch_database

pytestmark = pytest.mark.realworld

REALWORLD = Path(__file__).parent / "suites" / "realworld"
SUITES = sorted(p.name for p in REALWORLD.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
TIMEOUT = 180
_COUNT = re.compile(r"(\d+) (passed|failed|errors?)\b")


@dataclass
class Outcome:
    suite: str
    plain: Completed                     # plain pytest: exit code and output
    plain_counts: tuple[int, int, int]   # (passed, failed, errors) from its summary line
    kit: Completed                       # `kit diagnose COPY --json FILE`
    report: dict | None                  # the JSON kit wrote (None if it wrote none)

    @property
    def kit_counts(self) -> tuple[int, int, int] | None:
        if self.report is None:
            return None
        return self.report["passed"], self.report["failed"], self.report["errors"]

    def explain(self) -> str:
        """What kit said, so that a failing assertion explains itself."""
        findings = "".join(
            f"\n  finding: {f['nodeid']} [{f['phase']}] {f['cause']} {f.get('error_type')}: "
            f"{(f.get('message') or '')[:200]}" + "".join(f"\n    evidence: {line}" for line in f.get("evidence", []))
            for f in (self.report or {}).get("findings", []))
        advice = "".join(f"\n  advice: [{a['severity']}] {a['rule']} where={a['where']}"
                         for a in (self.report or {}).get("advice", []))
        return (f"\n--- {self.suite}: plain pytest {self.plain_counts}, kit {self.kit_counts}, kit exit {self.kit.code}"
                f"{findings}{advice}\n--- kit's output:\n{self.kit.out}\n--- kit's stderr:\n{self.kit.err[-3000:]}")


def plain_counts(output: str) -> tuple[int, int, int]:
    """(passed, failed, errors) from pytest's final summary line ("3 passed, 1 failed, 2 errors in 0.5s")."""
    lines = [line for line in output.strip().splitlines() if re.search(r"\bin [\d.]+s\b", line)]
    counts = {"passed": 0, "failed": 0, "errors": 0}
    for number, word in _COUNT.findall(lines[-1] if lines else ""):
        counts["errors" if word.startswith("error") else word] = int(number)
    return counts["passed"], counts["failed"], counts["errors"]


def run_plain(copy: Path, url: str) -> Completed:
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=copy, env=env,
                            capture_output=True, text=True, timeout=TIMEOUT)
    return Completed(result.returncode, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def outcomes(target, tmp_path_factory) -> dict[str, Outcome]:
    """Every realworld suite, under plain pytest and under `kit diagnose`, in parallel: name -> Outcome."""
    root = tmp_path_factory.mktemp("realworld")

    def plain(name: str) -> Completed:
        copy = Path(shutil.copytree(REALWORLD / name, root / "plain" / name))
        with scratch_database(target, f"rw_plain_{name}"[:24]) as database:
            return run_plain(copy, database.url)

    def diagnosed(name: str) -> tuple[Completed, dict | None]:
        copy = Path(shutil.copytree(REALWORLD / name, root / "kit" / name))
        report = root / f"{name}.json"
        with scratch_database(target, f"rw_kit_{name}"[:24]) as database:
            # with DATABASE_URL set, kit diagnose uses that database as is
            result = kit_cli("diagnose", str(copy), "--json", str(report), "--timeout", str(TIMEOUT),
                             env={"DATABASE_URL": database.url}, timeout=TIMEOUT + 60)
        return result, json.loads(report.read_text()) if report.exists() else None

    with concurrent.futures.ThreadPoolExecutor(max_workers=2 * len(SUITES)) as pool:
        plains = {name: pool.submit(plain, name) for name in SUITES}
        kits = {name: pool.submit(diagnosed, name) for name in SUITES}
        found = {}
        for name in SUITES:
            plain_result, (kit_result, report) = plains[name].result(), kits[name].result()
            found[name] = Outcome(name, plain_result, plain_counts(plain_result.out), kit_result, report)
        return found


@pytest.mark.parametrize("suite", SUITES)
def test_suite_passes_under_plain_pytest(outcomes, suite):
    """The guard's premise: the suite is green without kit (if not, fix the suite, not kit)."""
    outcome = outcomes[suite]
    passed, failed, errors = outcome.plain_counts
    assert outcome.plain.code == 0 and passed >= 3 and failed == errors == 0, outcome.plain.all


@pytest.mark.parametrize("suite", SUITES)
def test_kit_writes_a_report_and_exits_zero(outcomes, suite):
    outcome = outcomes[suite]
    assert outcome.report is not None and outcome.kit.code == 0, outcome.explain()


@pytest.mark.parametrize("suite", SUITES)
def test_no_findings(outcomes, suite):
    outcome = outcomes[suite]
    assert outcome.report is not None and outcome.report["findings"] == [], outcome.explain()


@pytest.mark.parametrize("suite", SUITES)
def test_no_broken_now_advice(outcomes, suite):
    outcome = outcomes[suite]
    assert outcome.report is not None, outcome.explain()
    broken = [f"{a['rule']} where={a['where']}" for a in outcome.report["advice"] if a["severity"] == "broken-now"]
    assert broken == [], outcome.explain()


@pytest.mark.parametrize("suite", SUITES)
def test_counts_equal_plain_pytest(outcomes, suite):
    outcome = outcomes[suite]
    assert outcome.kit_counts == outcome.plain_counts, outcome.explain()
