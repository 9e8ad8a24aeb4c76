"""``kit db`` and ``kit redis``: the local servers kit runs for tests, started, inspected and stopped alike.

Kept apart from :mod:`kit.cli` so that the command line's main module stays one page of commands; both
groups share one parser shape (start, status, stop, url [--show-secret]) and one status format, whose exit
code is 3 when the server is stopped so that scripts can test it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["add_server_commands"]


def _print_status(name: str, status, extra: str = "") -> int:
    state = f"running (pid {status.pid})" if status.running else "stopped"
    print(f"{name}: {state}\n  url:  {status.url or '-'}\n  data: {status.data_dir}{extra}")
    return 0 if status.running else 3


def cmd_db(args: argparse.Namespace) -> int:
    from kit.db.embedded import EmbeddedServer

    server = EmbeddedServer()
    if args.action == "start":
        server.start()
        print(f"embedded PostgreSQL running: {server.url()}")
    elif args.action == "stop":
        print("stopped" if server.stop() else "not running")
    elif args.action == "status":
        return _print_status("embedded PostgreSQL", server.status())
    elif args.action == "url":
        print(server.url(show_secret=args.show_secret))
    return 0


def cmd_redis(args: argparse.Namespace) -> int:
    from kit.db.redis_server import EmbeddedRedis
    from kit.db.redis_target import redis_url, user_redis_url

    server = EmbeddedRedis()
    if args.action == "start":
        url = redis_url(show_secret=False)
        where = "REDIS_URL is set and answers; kit uses" if user_redis_url() else "embedded Redis running:"
        print(f"{where} {url}")
    elif args.action == "stop":
        print("stopped" if server.stop() else "not running")
    elif args.action == "status":
        user = user_redis_url() and redis_url(show_secret=False)  # the user's is checked: it must answer
        note = f"\n  REDIS_URL is set and answers: kit uses {user} instead" if user else ""
        return _print_status("embedded Redis", server.status(), note)
    elif args.action == "url":
        print(redis_url(ready=False, show_secret=args.show_secret))
    return 0


def _server_group(command: Callable[..., argparse.ArgumentParser], name: str, what: str,
                  start_help: str, stop_help: str, url_help: str) -> argparse.ArgumentParser:
    group = command(name, what, f"kit {name} status", f"kit {name} url --show-secret")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("start", help=start_help)
    actions.add_parser("status", help="running or stopped, its URL (password masked) and data directory; exit 3 "
                                      "when stopped")
    actions.add_parser("stop", help=stop_help)
    url = actions.add_parser("url", help=url_help)
    url.add_argument("--show-secret", action="store_true", help="print the real password")
    return group


def add_server_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``kit db`` and ``kit redis``, each made by ``command`` (kit's subcommand factory)."""
    _server_group(command, "db", "the embedded PostgreSQL server (warm across runs)",
                  "initialise (first time) and start it, or reuse it if running",
                  "stop it (its data stays; the next command that needs it starts it)",
                  "print its URL, password masked").set_defaults(func=cmd_db)
    _server_group(command, "redis", "the embedded Redis server (warm across runs; REDIS_URL overrides it)",
                  "start it, or reuse it if running (with REDIS_URL set: check that Redis instead)",
                  "stop it (it keeps no data; the next command that needs it starts it)",
                  "print the Redis URL kit uses (REDIS_URL, else the embedded one), password masked"
                  ).set_defaults(func=cmd_redis)
