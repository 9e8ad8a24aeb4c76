"""``kit fix``: repair a failing suite on a copy, prove it by rerunning, and hand back a patch.

Kept apart from :mod:`kit.cli` (one page of commands). Exit codes: 0 green after the patch (or nothing to fix),
1 findings remain, 2 bad input (the same paragraphs as ``kit diagnose``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["add_fix_command"]


def cmd_fix(args: argparse.Namespace) -> int:
    from kit.cli import _human, _write_json
    from kit.diagnose.repair.fix import fix_suite, record_fix, render_fix, verdict
    from kit.errors import FixError

    out = _human(args)
    if args.rounds < 1:
        print("kit: --rounds must be at least 1 (each round diagnoses, repairs and reruns the suite once).",
              file=sys.stderr)
        return 2
    result = fix_suite(Path(args.path), args.url, rounds=args.rounds, timeout=args.timeout, args=args.pytest_args,
                       driver=args.driver, allow_any_database=args.allow_any_database,
                       progress=lambda line: print(f"kit fix: {line}", file=sys.stderr, flush=True))
    record_fix(result)
    print(render_fix(result, final=False), file=out)
    if args.patch:
        try:
            Path(args.patch).write_text(result.patch)
        except OSError as exc:
            raise FixError(f"kit could not write the patch to {args.patch} ({exc.strerror}). Choose a writable path; "
                           "nothing was changed in your suite.") from None
        print(f"patch: {args.patch} (apply from {result.suite} with `git apply {shlex.quote(str(Path(args.patch)))}` "
              f"or `patch -p1 < ...`)", file=out)
    if args.json:
        _write_json(args.json, result.as_dict())
    if args.apply and result.changed:
        from kit.diagnose.repair.apply import apply_changes

        def announce(restore: str) -> None:  # before the first write: an interrupted apply has said its way back
            print(f"kit fix: writing {len(result.changed)} file(s) into {result.suite}; if this is interrupted, "
                  f"`{restore}` puts every original back", file=sys.stderr, flush=True)

        backup = apply_changes(Path(result.suite), result.originals, result.changed, result.patch, announce)
        print(f"applied to {result.suite}; the originals are in {backup}/files. To undo: "
              f"patch -R -p1 -d {shlex.quote(result.suite)} < {shlex.quote(str(backup / 'fix.patch'))}", file=out)
    print(verdict(result), file=out)  # the last line, after the patch and apply lines
    return 0 if result.green else 1


def add_fix_command(command: Callable[..., argparse.ArgumentParser],
                    with_target: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
                    pytest_args_parser: type[argparse.ArgumentParser]) -> None:
    fx = with_target(command(
        "fix", "step 4: repair your suite's loop/session conflicts on a copy, proved by rerunning it",
        "kit fix path/to/your/project --patch fix.patch", "kit fix . --apply -- -k auth",
        description="Copy the suite at PATH, diagnose it as `kit diagnose` does, write the smallest repair of each "
                    "root cause into the copy and rerun; a repair that does not remove its finding, or breaks a "
                    "test that passed, is rolled back. Your files change only with --apply (atomically, originals "
                    "kept). Exit code 0: green, 1: findings left, 2: the suite could not be run."))
    fx.add_argument("path", help="the project directory (where you would run pytest)")
    fx.__class__ = pytest_args_parser  # `-- PYTEST_ARGS...` after kit's own options
    fx.usage = ("kit fix PATH [--url URL] [--apply] [--patch FILE] [--json FILE] [--rounds N] [--timeout S] "
                "[-- PYTEST_ARGS...]")
    fx.add_argument("--apply", action="store_true",
                    help="write the repaired files into PATH (only if none changed meanwhile; originals kept)")
    fx.add_argument("--patch", metavar="FILE", help="write the unified diff (relative to PATH) to FILE")
    fx.add_argument("--json", metavar="FILE", help="write the result as JSON ('-': stdout, JSON only)")
    fx.add_argument("--rounds", type=int, default=3, help="diagnose-repair-rerun rounds at most (default 3)")
    fx.add_argument("--timeout", type=float, default=600, help="seconds per run of the suite (default 600)")
    fx.add_argument("--driver", choices=("asyncpg", "psycopg"),
                    help="the driver of the scratch database URL handed to the suite (as for kit diagnose)")
    fx.set_defaults(func=cmd_fix)
