"""The ``kit`` command line. Each subcommand is a thin call into one module.

Expected failures (:class:`kit.errors.KitError`) print one paragraph to stderr and exit non-zero with no
traceback; anything else is a bug in kit and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kit.errors import KitError

__all__ = ["main"]


def _target(args: argparse.Namespace, start: bool = True):
    from kit.target import resolve_target

    return resolve_target(getattr(args, "url", None), allow_any_database=getattr(args, "allow_any_database", False),
                          start=start)


def _write_json(path: str, payload: object) -> None:
    if path == "-":
        print(json.dumps(payload, indent=2, default=str))
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=2, default=str) + "\n")


# -- kit db ---------------------------------------------------------------------------------
def cmd_db(args: argparse.Namespace) -> int:
    from kit.embedded import EmbeddedServer

    server = EmbeddedServer()
    if args.action == "start":
        server.start()
        print(f"embedded PostgreSQL running: {server.url()}")
    elif args.action == "stop":
        print("stopped" if server.stop() else "not running")
    elif args.action == "status":
        status = server.status()
        state = f"running (pid {status.pid})" if status.running else "stopped"
        print(f"embedded PostgreSQL: {state}\n  url:  {status.url or '-'}\n  data: {status.data_dir}")
        return 0 if status.running else 3
    elif args.action == "url":
        print(server.url(show_secret=args.show_secret))
    return 0


# -- kit probe ------------------------------------------------------------------------------
def cmd_probe(args: argparse.Namespace) -> int:
    from kit.probe import probe

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
    from kit.investigate import investigate

    target = _target(args)
    summary = investigate(target, out=Path(args.out), notebooks=args.notebooks, timeout=args.timeout)
    return 0 if summary.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_target(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--url", help="database URL (default: $DATABASE_URL, else the embedded server)")
        p.add_argument("--allow-any-database", action="store_true",
                       help="allow creating/dropping scratch databases on a server whose database name "
                            "does not contain 'test'")
        return p

    db = sub.add_parser("db", help="the embedded PostgreSQL server")
    db.add_argument("action", choices=("start", "status", "stop", "url"))
    db.add_argument("--show-secret", action="store_true", help="with url: print the real password")
    db.set_defaults(func=cmd_db)

    pr = with_target(sub.add_parser("probe", help="step 2.1: is the database reachable, outside and inside pytest?"))
    pr.add_argument("--repeat", type=int, default=20, help="queries for the latency figures (default 20)")
    pr.add_argument("--timeout", type=float, default=5.0, help="seconds per connection step (default 5)")
    pr.add_argument("--json", action="store_true", help="print one JSON object")
    pr.set_defaults(func=cmd_probe)

    inv = with_target(sub.add_parser("investigate", help="execute every notebook and render the HTML reports"))
    inv.add_argument("--out", default="reports", help="report directory (default: reports/)")
    inv.add_argument("--timeout", type=float, default=900, help="seconds per notebook (default 900)")
    inv.add_argument("notebooks", nargs="*", help="only these notebooks (names or paths)")
    inv.set_defaults(func=cmd_investigate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KitError as exc:
        print(f"kit: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kit: interrupted", file=sys.stderr)
        return 130
