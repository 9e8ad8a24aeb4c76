"""The ``kit`` command line. Each subcommand is a thin call into one module.

Expected failures (:class:`kit.errors.KitError`) print one paragraph to stderr and exit non-zero with no
traceback; anything else is a bug in kit and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from kit.cli_fix import add_fix_command
from kit.cli_servers import add_server_commands
from kit.errors import KitError, ReportError

__all__ = ["main"]


def _target(args: argparse.Namespace, start: bool = True):
    from kit.db.target import resolve_target, user_database_url

    url = getattr(args, "url", None)
    if start and not url and not user_database_url():
        from kit.db.embedded import EmbeddedServer

        if not EmbeddedServer().status().running:
            print("kit: starting the embedded PostgreSQL (it was not running; `kit db stop` stops it again)",
                  file=sys.stderr, flush=True)
    return resolve_target(url, allow_any_database=getattr(args, "allow_any_database", False), start=start)


def _human(args: argparse.Namespace):
    """Where human-readable lines go: stderr when ``--json -`` keeps stdout for the JSON alone."""
    return sys.stderr if getattr(args, "json", None) == "-" else sys.stdout


def _write_json(path: str, payload: object) -> None:
    if path == "-":
        print(json.dumps(payload, indent=2, default=str))
        return
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(payload, indent=2, default=str) + "\n")
    except OSError as exc:
        raise ReportError(f"kit could not write {path} ({exc.strerror or exc}). Choose a path in a writable "
                          "directory (or `--json -` for stdout); the results above are complete.") from None


# -- kit probe ------------------------------------------------------------------------------
def cmd_probe(args: argparse.Namespace) -> int:
    from kit.db.probe import probe

    target = _target(args)
    result = probe(target, repeat=args.repeat, timeout=args.timeout)
    if args.json:
        print(json.dumps(result.as_dict(), default=str))
        return 0 if result.ok else 1
    print(f"target: {result.target} ({result.target_kind})")
    for check in result.checks:
        mark = "ok  " if check.ok else "FAIL"
        print(f"  {mark} {check.name:<11} {check.seconds * 1000:8.1f} ms")
        if check.error:
            print(f"\n{check.error}\n", file=sys.stderr)
    if result.server_version:
        print(f"server: {result.server_version}")
    lat = result.latency_ms
    if lat["n"]:
        print(f"latency over {lat['n']} queries: p50 {lat['p50']:.2f} ms, p95 {lat['p95']:.2f} ms")
    return 0 if result.ok else 1


# -- kit investigate ------------------------------------------------------------------------
def cmd_investigate(args: argparse.Namespace) -> int:
    from kit.report.investigate import investigate
    from kit.report.parameters import parse_parameters

    parameters = parse_parameters(args.parameters)
    target = _target(args)
    summary = investigate(target, out=Path(args.out), notebooks=args.notebooks, timeout=args.timeout, jobs=args.jobs,
                          parameters=parameters)
    return 0 if summary.ok else 1


# -- kit scenarios -------------------------------------------------------------------------
def cmd_scenarios(args: argparse.Namespace) -> int:
    from kit.catalogue.scenario import VARIANTS, catalogue

    if args.action == "list":
        entries = catalogue()
        if args.json:
            print(json.dumps([s.as_dict() for s in entries], indent=2))
        else:
            for s in entries:
                print(f"{s.id:<36} {s.symptom.error_type:<18} {s.title}")
        return 0
    from kit.catalogue.reproduce import DATABASE_GONE, run_scenarios

    variants = VARIANTS if args.variant == "both" else (args.variant,)
    results = run_scenarios(args.ids or None, _target(args), variants, jobs=args.jobs, timeout=args.timeout,
                            driver=args.driver)
    if args.json:
        _write_json(args.json, [r.as_dict() for r in results])
    unexpected = [r for r in results if not r.reproduced]
    gone = [r for r in results if r.first_error_type == DATABASE_GONE]
    if gone:
        print(f"kit: the database went away during the run: {len(gone)} of {len(results)} variants could not run "
              f"and are recorded as failed ({gone[0].first_error_message}). The {len(results) - len(gone)} runs "
              "already done are recorded. Check the server (`kit db status`, or your docker test-db) and run "
              "the command again.", file=sys.stderr)
    print(f"{len(results) - len(unexpected)} of {len(results)} variants behaved as the catalogue says"
          + (f"; unexpected: {', '.join(f'{r.scenario}/{r.variant}/{r.driver}' for r in unexpected)}"
             if unexpected else ""),
          file=_human(args))
    return 1 if unexpected else 0


# -- kit stage ------------------------------------------------------------------------------
def cmd_stage(args: argparse.Namespace) -> int:
    from kit.reference import suite as stages

    if args.action == "list":
        print(json.dumps([s.as_dict() for s in stages.stages()], indent=2) if args.json
              else "\n".join(stages.list_lines()))
        return 0
    if args.action == "diff":
        sys.stdout.write(stages.diff_stages(args.before, args.after))
        return 0
    result = stages.run_stage(args.stage, _target(args), timeout=args.timeout)
    print("\n".join(stages.report_lines(result)), file=_human(args))
    if args.json:
        _write_json(args.json, result.as_json())
    return 0 if result.as_expected else 1


# -- kit diagnose --------------------------------------------------------------------------
class _PytestArgsParser(argparse.ArgumentParser):
    """Everything after ``--`` goes to pytest untouched (argparse alone cannot take positionals after options)."""

    def parse_known_args(self, args=None, namespace=None):
        args, rest = list(sys.argv[1:] if args is None else args), []
        if "--" in args:
            args, rest = args[:args.index("--")], args[args.index("--") + 1:]
        namespace, extras = super().parse_known_args(args, namespace)
        namespace.pytest_args = rest
        return namespace, extras


def cmd_diagnose(args: argparse.Namespace) -> int:
    from kit.diagnose import render_text, run_diagnosis

    if (args.path is None) == (not args.records):
        print("kit: give either PATH (a suite to run and diagnose) or --records FILE... (record files of runs done "
              "elsewhere, e.g. CI shards), not both and not neither.", file=sys.stderr)
        return 2
    if args.records:
        from kit.diagnose.records import diagnose_records

        diagnosis = diagnose_records([Path(p) for p in args.records])
    else:
        diagnosis = run_diagnosis(Path(args.path), args.url, args=args.pytest_args, timeout=args.timeout,
                                  allow_any_database=args.allow_any_database, driver=args.driver)
    print(render_text(diagnosis), file=_human(args))
    if args.json:
        _write_json(args.json, diagnosis.as_dict())
    if args.html:
        from kit.diagnose.html import write_html

        print(f"report: {write_html(diagnosis, Path(args.html))}", file=_human(args))
    if diagnosis.database_gone:
        print(f"kit: {diagnosis.database_gone}", file=sys.stderr)
        return 1
    return 1 if diagnosis.findings else 0


# -- kit matrix -----------------------------------------------------------------------------
def cmd_matrix(args: argparse.Namespace) -> int:
    from kit.catalogue.matrix import (
        DEFAULT_PYTEST_ASYNCIO,
        DEFAULT_SQLALCHEMY,
        cliff_entries,
        parse_versions,
        run_matrix,
        select_entries,
    )

    if args.jobs < 1:
        print("kit: --jobs must be at least 1.", file=sys.stderr)
        return 2
    pytest_asyncio = parse_versions(args.pytest_asyncio, DEFAULT_PYTEST_ASYNCIO)
    sqlalchemy = parse_versions(args.sqlalchemy, DEFAULT_SQLALCHEMY)
    ids = [s.id for s in select_entries(args.ids or (None if args.all else cliff_entries()))]
    run = run_matrix(ids, _target(args), pytest_asyncio, sqlalchemy, jobs=args.jobs, timeout=args.timeout)
    if args.json:
        _write_json(args.json, run.as_json())
    off = [c for c in run.cells if not c.as_declared]
    print(f"{len(run.cells) - len(off)} of {len(run.cells)} cells behaved as declared; {run.envs_built} of "
          f"{len(run.envs)} environments built, {len(run.envs) - run.envs_built} reused; {run.duration_s:.0f} s"
          + "".join(f"\n  UNEXPECTED {c.cite} (expected {c.expected})" for c in off), file=_human(args))
    return 0 if run.ok else 1


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def build_parser() -> argparse.ArgumentParser:
    from kit import __version__

    parser = argparse.ArgumentParser(
        prog="kit", description="Reproduce, record and diagnose asyncio event-loop / SQLAlchemy AsyncSession "
                                "conflicts in pytest suites, on a real PostgreSQL.",
        epilog=_examples("kit investigate                      # every notebook, reports in reports/",
                         "kit diagnose path/to/your/project    # name the loop/session conflicts of your suite",
                         "kit COMMAND --help                   # what a command takes"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"kit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str, *examples: str, description: str | None = None) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=description or help, epilog=_examples(*examples),
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    def with_target(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--url", help="database URL (default: $DATABASE_URL, else the embedded server)")
        p.add_argument("--redis-url", metavar="URL",
                       help="Redis for suites and entries that use one, as REDIS_URL (default: $REDIS_URL, else a "
                            "scratch database index of kit's embedded Redis)")
        p.add_argument("--allow-any-database", action="store_true",
                       help="allow creating/dropping scratch databases on a server whose database name "
                            "does not contain 'test'")
        return p

    add_server_commands(command)  # kit db, kit redis

    pr = with_target(command("probe", "step 2.1: is the database reachable, outside and inside pytest?",
                             "kit probe",
                             "kit probe --url postgresql+asyncpg://app:***@localhost:5433/app_test --json"))
    pr.add_argument("--repeat", type=int, default=20, help="queries for the latency figures (default 20)")
    pr.add_argument("--timeout", type=float, default=5.0, help="seconds per connection step (default 5)")
    pr.add_argument("--json", action="store_true", help="print one JSON object (and nothing else) on stdout")
    pr.set_defaults(func=cmd_probe)

    inv = with_target(command(
        "investigate", "execute every notebook in a real kernel and render the HTML reports",
        "kit investigate", "kit investigate 01_connectivity 07 --out /tmp/reports",
        "kit investigate 07_diagnose_your_suite -p SUITE=path/to/your/project",
        description="Execute the notebooks (all, or the ones named) in real Jupyter kernels against the database "
                    "(checked first), and write <out>/<notebook>.html, .ipynb and index.html. Reports are "
                    "replaced only when every notebook has run: Ctrl-C keeps the previous set."))
    inv.add_argument("--out", default="reports", help="report directory (default: reports/)")
    inv.add_argument("--timeout", type=float, default=900, help="seconds per cell (default 900)")
    inv.add_argument("--jobs", type=int, default=2, help="notebooks run at once, each in its own kernel (default 2)")
    inv.add_argument("-p", "--parameter", dest="parameters", action="append", metavar="NAME=VALUE",
                     help="set a variable of the notebook's cell tagged 'parameters' (papermill's convention); "
                          "repeatable")
    inv.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                     help="only these notebooks: names (07, 07_diagnose_your_suite) or .ipynb paths")
    inv.set_defaults(func=cmd_investigate)

    sc = command("scenarios", "step 3: the conflict catalogue, each entry broken and fixed",
                 "kit scenarios list", "kit scenarios run module-engine-per-test-loop --variant broken",
                 "kit scenarios run --jobs 2 --json results.json")
    sc_sub = sc.add_subparsers(dest="action", required=True, metavar="ACTION")
    sc_list = sc_sub.add_parser("list", help="the entries and their symptoms")
    sc_list.add_argument("--json", action="store_true", help="print the entries' metadata as JSON")
    sc_run = with_target(sc_sub.add_parser("run", help="reproduce entries on the database, each variant in a "
                                                       "scratch database; exit 0 when all behaved as declared"))
    sc_run.add_argument("ids", nargs="*", metavar="ID", help="entry ids, as `kit scenarios list` shows (default: all)")
    sc_run.add_argument("--variant", choices=("broken", "fixed", "both"), default="both",
                        help="which variants to run: broken (must show the symptom), fixed (must pass) or both "
                             "(default)")
    sc_run.add_argument("--driver", choices=("asyncpg", "psycopg", "both"), default="both",
                        help="SQLAlchemy's driver for the suites: asyncpg, psycopg (3, async) or both (default: each "
                             "entry on asyncpg, and on psycopg where the entry declares what happens there)")
    sc_run.add_argument("--jobs", type=int, default=1, help="variants run at once (default 1)")
    sc_run.add_argument("--timeout", type=float, default=None,
                        help="seconds per variant (default: the entry's, else 120)")
    sc_run.add_argument("--json", metavar="FILE", help="write the results as a JSON list ('-': stdout, JSON only)")
    sc.set_defaults(func=cmd_scenarios)

    st = command("stage", "steps 2.2-4.5: the reference API's suite in stages",
                 "kit stage list", "kit stage run simplified --json -", "kit stage diff simplified stabilised")
    st_sub = st.add_subparsers(dest="action", required=True, metavar="ACTION")
    st_list = st_sub.add_parser("list", help="the stages, in the order of the investigation")
    st_list.add_argument("--json", action="store_true", help="print the stages as JSON")
    st_run = with_target(st_sub.add_parser("run", help="run the suite at one stage in a fresh database; exit 0 "
                                                       "when it behaved as the report says"))
    st_run.add_argument("stage", metavar="STAGE", help="original, simplified, stabilised, auth, full, real-deps or "
                                                        "real-deps-fixed (`kit stage list`)")
    st_run.add_argument("--timeout", type=float, default=120, help="seconds (default 120)")
    st_run.add_argument("--json", metavar="FILE", help="write the per-test results ('-': stdout, JSON only)")
    st_diff = st_sub.add_parser("diff", help="the conftest diff between two stages")
    st_diff.add_argument("before", metavar="FROM", help="the earlier stage")
    st_diff.add_argument("after", metavar="TO", help="the later stage")
    st.set_defaults(func=cmd_stage)

    dg = with_target(command(
        "diagnose", "run your own suite with kit's recorder and name the loop/session conflicts it shows",
        "kit diagnose path/to/your/project", "kit diagnose . --html diagnosis.html --json diagnosis.json -- -k auth",
        description="Run the pytest suite at PATH (in PATH, with its own configuration) with kit's recorder and "
                    "classify every failure against the catalogue. Database: $DATABASE_URL as is when set; with "
                    "--url or the embedded server, a fresh scratch database exported as DATABASE_URL. Exit code "
                    "0: no findings, 1: findings, 2: the suite could not be run."))
    dg.add_argument("path", nargs="?", help="the project directory (where you would run pytest)")
    dg.add_argument("--records", nargs="+", metavar="FILE",
                    help="diagnose these record files (or directories of them: CI shards' `pytest -p kit.plugin "
                         "--kit-record FILE`, with their xdist workers' FILE.gw0...) without running anything")
    dg.__class__ = _PytestArgsParser  # `-- PYTEST_ARGS...` after kit's own options
    dg.usage = ("kit diagnose PATH [--url URL] [--driver asyncpg|psycopg] [--json FILE] [--html FILE] [--timeout S] "
                "[-- PYTEST_ARGS...]\n       kit diagnose --records FILE [FILE ...] [--json FILE] [--html FILE]")
    dg.add_argument("--driver", choices=("asyncpg", "psycopg"),
                    help="the driver of the scratch database URL handed to the suite (default: the one --url names, "
                         "else the suite's own, else asyncpg)")
    dg.add_argument("--timeout", type=float, default=600, help="seconds before the run is killed (default 600)")
    dg.add_argument("--json", metavar="FILE", help="write the findings as JSON ('-': stdout, JSON only)")
    dg.add_argument("--html", metavar="FILE", help="write a self-contained HTML report with the loop timeline")
    dg.set_defaults(func=cmd_diagnose)
    add_fix_command(command, with_target, _PytestArgsParser)

    mx = with_target(command(
        "matrix", "the catalogue under several pytest-asyncio x SQLAlchemy versions (cached environments)",
        "kit matrix --json matrix.json", "kit matrix --all --pytest-asyncio 0.25.3,1.5.0",
        description="Build (or reuse) one environment per version pair and run the entries' broken and fixed "
                    "variants in each, judged against each entry's [versions] declarations. Default entries: "
                    "the headline version cliffs (--all: every pytest entry). Exit code 0: every cell "
                    "behaved as declared, 1: some did not (or an environment could not be built), 2: bad input."))
    mx.add_argument("ids", nargs="*", metavar="ID", help="entry ids (default: the headline cliffs)")
    mx.add_argument("--all", action="store_true", help="every pytest entry of the catalogue")
    mx.add_argument("--pytest-asyncio", metavar="V,V", help="versions (default 0.21.2,0.23.8,0.25.3,1.5.0)")
    mx.add_argument("--sqlalchemy", metavar="V,V", help="versions (default 2.0.58,2.1.9)")
    mx.add_argument("--jobs", type=int, default=1, help="cells run at once (default 1)")
    mx.add_argument("--timeout", type=float, default=None, help="seconds per cell (default: the entry's, else 120)")
    mx.add_argument("--json", metavar="FILE", help="write the cells as a JSON list ('-': stdout, JSON only)")
    mx.set_defaults(func=cmd_matrix)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `kit`: what it can do, not only an error
        parser.print_help()
        return 0
    if getattr(args, "redis_url", None):  # the same as REDIS_URL, which every Redis user in kit reads
        os.environ["REDIS_URL"] = args.redis_url
    try:
        return args.func(args)
    except KitError as exc:
        print(f"kit: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        _interrupted()
    except BrokenPipeError:  # `kit ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return 130


def _interrupted() -> None:
    """Ctrl-C: kill every run and kernel still going, say what is kept, and exit 130 at once.

    Worker threads may still be inside a run that was just killed; waiting for them to notice would print
    results nobody asked for, so kit leaves without joining them (records and reports written so far stay).
    """
    from kit.run import cancel

    killed = cancel.kill_all()
    print(f"kit: interrupted; stopped {killed} running process group(s). Results recorded before the interrupt "
          "are kept; report directories keep their previous complete set.", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)
