"""The suite scanner: what a suite's own files say, read without running or importing any of it.

The recorder sees what ran, but not what pytest-asyncio silently ignored: a legacy ``event_loop`` fixture
override never runs on 1.x, so only the source shows it. Both readers of a suite's source use this one
scanner, so they agree on which files count and where things are: ``kit diagnose`` (the ``event_loop``
override behind a different-loop failure) and the upgrade advisor (every pattern that has a cliff between
releases). Python files are read with :mod:`ast` (a regex fallback for files that do not parse), pytest's
configuration files with their own parsers; places are reported as ``conftest.py:12``, relative to the suite.
"""

from __future__ import annotations

import ast
import configparser
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IGNORED_DIRS", "INI_OPTIONS", "CONFIG_FILES", "Pattern", "suite_modules", "scan_python", "scan_config",
           "scan_suite", "event_loop_overrides", "mentions"]

# Directories that hold someone else's code or build output, never the suite's own fixtures.
IGNORED_DIRS = frozenset({".git", ".venv", "venv", "env", "node_modules", "__pycache__", ".tox", ".nox",
                          "site-packages", ".pytest_cache", "build", "dist"})
INI_OPTIONS = ("asyncio_mode", "asyncio_default_fixture_loop_scope", "asyncio_default_test_loop_scope")
# Read at the suite's root only: where pytest and pip look for them.
CONFIG_FILES = ("pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml")
# A test module holds tests, not the suite's shared fixtures and engines: only these kinds count there.
_TEST_MODULE_KINDS = frozenset({"event_loop_override", "event_loop_request", "loop_scope", "asyncclient_app",
                                "uses_pytest_asyncio", "uses_anyio", "redis_close", "redis_aclose",
                                "redis_auto_close"})
# redis.asyncio's clients and connection pools, as its modules export them
_REDIS_CLIENTS = frozenset({"Redis", "StrictRedis"})
_REDIS_POOLS = frozenset({"ConnectionPool", "BlockingConnectionPool"})
_REDIS_MODULES = ("redis.asyncio", "redis.asyncio.client", "redis.asyncio.connection")


@dataclass
class Pattern:
    """One thing the scan found in the suite's files."""

    kind: str            # event_loop_override | event_loop_request | loop_scope | wide_async_fixture |
                         # plain_async_fixture | asyncclient_app | expire_on_commit | ini_option | async_def |
                         # uses_pytest_asyncio | uses_anyio | redis_close | redis_aclose | redis_auto_close |
                         # warnings_error
    file: str
    line: int
    name: str = ""       # fixture / option / call name
    detail: str = ""     # e.g. the fixture's scope, the option's value

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


# -- which files ------------------------------------------------------------------------------------------
def suite_modules(root: Path) -> tuple[list[Path], list[Path]]:
    """(conftest.py files and pytest plugin modules, test modules) under ``root``, each list sorted, outside
    :data:`IGNORED_DIRS`.

    A test module is any ``test*.py`` file (pytest's ``test_*.py`` and the ``tests.py`` some projects use)."""
    conftests, modules = [], []
    for path in sorted(root.rglob("*.py")):
        if IGNORED_DIRS.intersection(path.relative_to(root).parts[:-1]) or not path.is_file():
            continue
        if path.name == "conftest.py" or (path.name.startswith("pytest_") and path.name != "pytest_cache.py"):
            conftests.append(path)  # a pytest plugin module (pytest_<name>.py) holds fixtures like a conftest
        elif path.name.startswith("test"):
            modules.append(path)
    return conftests, modules


# -- Python files -----------------------------------------------------------------------------------------
def _decorator_call(node: ast.expr) -> tuple[str, dict[str, ast.expr]]:
    """``@pytest_asyncio.fixture(scope="session")`` -> ("pytest_asyncio.fixture", {"scope": <node>})."""
    keywords: dict[str, ast.expr] = {}
    if isinstance(node, ast.Call):
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        node = node.func
    return ast.unparse(node), keywords


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None if node is None else ast.unparse(node)


def _function_patterns(node: ast.FunctionDef | ast.AsyncFunctionDef, rel: str) -> list[Pattern]:
    """A fixture's or test's decorators and parameters."""
    found: list[Pattern] = []
    is_async = isinstance(node, ast.AsyncFunctionDef)
    params = [a.arg for a in node.args.args + node.args.kwonlyargs]
    for decorator in node.decorator_list:
        name, kw = _decorator_call(decorator)
        if name.endswith("fixture") and ("pytest" in name or name == "fixture"):
            scope = _literal(kw.get("scope")) or "function"
            if node.name == "event_loop":
                found.append(Pattern("event_loop_override", rel, node.lineno, node.name, scope))
            if "loop_scope" in kw:
                found.append(Pattern("loop_scope", rel, node.lineno, node.name, _literal(kw["loop_scope"]) or ""))
            if is_async and scope != "function" and "loop_scope" not in kw and "pytest_asyncio" in name:
                found.append(Pattern("wide_async_fixture", rel, node.lineno, node.name, scope))
            if is_async and name in ("pytest.fixture", "fixture"):
                found.append(Pattern("plain_async_fixture", rel, node.lineno, node.name, scope))
                if scope != "function":
                    found.append(Pattern("wide_async_fixture", rel, node.lineno, node.name, scope))
        elif "mark.asyncio" in name and "loop_scope" in kw:
            found.append(Pattern("loop_scope", rel, node.lineno, node.name, _literal(kw["loop_scope"]) or ""))
        if "pytest_asyncio" in name or "mark.asyncio" in name:
            found.append(Pattern("uses_pytest_asyncio", rel, node.lineno, node.name))
        elif "mark.anyio" in name:
            found.append(Pattern("uses_anyio", rel, node.lineno, node.name))
    if node.name == "anyio_backend":
        found.append(Pattern("uses_anyio", rel, node.lineno, node.name))
    if "event_loop" in params and node.name != "event_loop":
        found.append(Pattern("event_loop_request", rel, node.lineno, node.name))
    if is_async:  # an async test or fixture: the suite runs coroutines, so loop settings matter to it
        found.append(Pattern("async_def", rel, node.lineno, node.name))
    return found


def _call_patterns(node: ast.Call, rel: str) -> list[Pattern]:
    """``AsyncClient(app=...)`` and session factories that leave ``expire_on_commit`` True."""
    found: list[Pattern] = []
    callee = ast.unparse(node.func)
    keywords = {k.arg: k.value for k in node.keywords if k.arg}
    if callee.endswith("AsyncClient") and "app" in keywords:
        found.append(Pattern("asyncclient_app", rel, node.lineno, callee))
    if callee.rsplit(".", 1)[-1] in ("async_sessionmaker", "AsyncSession", "sessionmaker"):
        value = keywords.get("expire_on_commit")
        if value is None or _literal(value) != "False":
            found.append(Pattern("expire_on_commit", rel, node.lineno, callee,
                                 "unset (True)" if value is None else _literal(value) or ""))
    return found


def scan_python(path: Path, rel: str) -> list[Pattern]:
    """Every pattern in one Python file (``rel``: its name in the report); nothing for an unreadable file."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return _scan_python_text(text, rel)
    found: list[Pattern] = _redis_patterns(tree, rel)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += _function_patterns(node, rel)
        elif isinstance(node, ast.Call):
            found += _call_patterns(node, rel)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark"
                                                  for t in node.targets):
            marks = ast.unparse(node.value)
            if "loop_scope" in marks:
                found.append(Pattern("loop_scope", rel, node.lineno, "pytestmark", marks[:80]))
            if "mark.asyncio" in marks:
                found.append(Pattern("uses_pytest_asyncio", rel, node.lineno, "pytestmark"))
            if "mark.anyio" in marks:
                found.append(Pattern("uses_anyio", rel, node.lineno, "pytestmark"))
    return found


# -- redis-py's asyncio client ----------------------------------------------------------------------------
def _redis_imports(tree: ast.Module) -> tuple[set[str], dict[str, str]]:
    """(the names this file reaches ``redis.asyncio`` by, the names it imported from it -> their real names)."""
    modules: set[str] = set()
    members: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in _REDIS_MODULES:
                    modules.add(alias.asname or alias.name)
                elif alias.name == "redis":
                    modules.add(f"{alias.asname or 'redis'}.asyncio")
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            for alias in node.names:
                if node.module == "redis" and alias.name == "asyncio":
                    modules.add(alias.asname or "asyncio")
                elif node.module in _REDIS_MODULES:
                    members[alias.asname or alias.name] = alias.name
    return modules, members


def _redis_made(call: ast.Call, modules: set[str], members: dict[str, str]) -> tuple[str, str] | None:
    """("client" | "pool", how) when ``call`` makes a redis.asyncio client or pool, else None. ``how`` for a
    client: ``from_url``, ``from_pool``, ``Redis(connection_pool=)`` or ``Redis()``."""
    callee = ast.unparse(call.func)
    rest = next((callee[len(m) + 1:] for m in modules if callee.startswith(m + ".")), None)
    if rest is None:
        head, _, tail = callee.partition(".")
        if head not in members:
            return None
        rest = ".".join(p for p in (members[head], tail) if p)
    parts = rest.split(".")
    if parts[-1] in ("from_url", "from_pool") and (len(parts) == 1 or parts[-2] in _REDIS_CLIENTS):
        return "client", parts[-1]
    if parts[-1] in _REDIS_CLIENTS:
        pooled = any(k.arg == "connection_pool" for k in call.keywords)
        return "client", "Redis(connection_pool=)" if pooled else "Redis()"
    if parts[-1] in _REDIS_POOLS or (parts[-1] == "from_url" and len(parts) > 1 and parts[-2] in _REDIS_POOLS):
        return "pool", parts[-1]
    return None


def _redis_patterns(tree: ast.Module, rel: str) -> list[Pattern]:
    """redis.asyncio calls with a cliff between redis-py releases: ``await client.close()``, ``aclose()`` on a
    client or pool and ``Redis.from_pool()``, ``auto_close_connection_pool=``.

    A receiver counts as a client when this file binds it to a redis.asyncio constructor (``client =
    redis.asyncio.from_url(...)``, ``self.redis = Redis(...)``), or when its name says redis (``app.state.redis``)
    and the file does not use the older ``aioredis`` package; ``<x>.connection_pool`` and names bound to a
    ``ConnectionPool`` count as pools."""
    modules, members = _redis_imports(tree)
    aioredis = any(isinstance(n, ast.Import) and any(a.name == "aioredis" for a in n.names) or
                   isinstance(n, ast.ImportFrom) and n.module == "aioredis" for n in ast.walk(tree))
    bound: dict[str, tuple[str, str]] = {}
    found: list[Pattern] = []
    for node in ast.walk(tree):
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        made = _redis_made(value, modules, members) if isinstance(value, ast.Call) else None
        if made:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                bound[ast.unparse(target)] = made
        if isinstance(node, ast.Call) and (made := _redis_made(node, modules, members)):
            callee = ast.unparse(node.func)
            if made == ("client", "from_pool"):
                found.append(Pattern("redis_aclose", rel, node.lineno, callee, "Redis.from_pool"))
            value = next((k.value for k in node.keywords if k.arg == "auto_close_connection_pool"), None)
            if value is not None:
                found.append(Pattern("redis_auto_close", rel, node.lineno, callee, _literal(value) or ""))
    for node in ast.walk(tree):
        call = node.value if isinstance(node, ast.Await) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("close", "aclose")):
            continue
        receiver = ast.unparse(call.func.value)
        kind, how = bound.get(receiver, (None, ""))
        if kind is None and receiver.endswith(".connection_pool"):
            kind = "pool"
        elif kind is None and "redis" in receiver.lower() and not aioredis:
            kind = "client"
        if kind == "client" and call.func.attr == "close":
            found.append(Pattern("redis_close", rel, node.lineno, receiver, how))
        elif kind is not None and call.func.attr == "aclose":
            found.append(Pattern("redis_aclose", rel, node.lineno, receiver,
                                 "Redis.aclose" if kind == "client" else "ConnectionPool.aclose"))
    return sorted(found, key=lambda p: p.line)


def _scan_python_text(text: str, rel: str) -> list[Pattern]:
    """Fallback for files that do not parse: the same patterns by regex, less precisely."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if re.search(r"def event_loop\s*\(", line):
            found.append(Pattern("event_loop_override", rel, number, "event_loop"))
        if "loop_scope=" in line:
            found.append(Pattern("loop_scope", rel, number))
        if re.search(r"AsyncClient\([^)]*\bapp\s*=", line):
            found.append(Pattern("asyncclient_app", rel, number, "AsyncClient"))
    return found


# -- configuration files ----------------------------------------------------------------------------------
def scan_config(path: Path, rel: str) -> list[Pattern]:
    """The pytest-asyncio options set in one configuration file, and whether it makes a DeprecationWarning an
    error (requirements are read as requirements, by :mod:`kit.diagnose.requirements`)."""
    text = path.read_text(errors="replace")
    options: dict[str, str] = {}
    if path.name == "pyproject.toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return []
        section = data.get("tool", {}).get("pytest", {})
        section = {**section.get("ini_options", {}), **{k: v for k, v in section.items() if k != "ini_options"}}
        options = {k: str(v) for k, v in section.items() if k in INI_OPTIONS}
        filters, addopts = section.get("filterwarnings", []), section.get("addopts", "")
        return _ini_patterns(options, text, rel) + _warning_patterns(
            [filters] if isinstance(filters, str) else [str(f) for f in filters],
            addopts if isinstance(addopts, str) else " ".join(map(str, addopts)), text, rel)
    if not path.name.endswith((".ini", ".cfg")):
        return []
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    section = "tool:pytest" if path.name == "setup.cfg" else "pytest"
    if not parser.has_section(section):
        return []
    options = {k: v for k, v in parser[section].items() if k in INI_OPTIONS}
    return _ini_patterns(options, text, rel) + _warning_patterns(
        parser[section].get("filterwarnings", "").splitlines(), parser[section].get("addopts", ""), text, rel)


def _ini_patterns(options: dict[str, str], text: str, rel: str) -> list[Pattern]:
    patterns = []
    for name, value in options.items():
        line = next((n for n, t in enumerate(text.splitlines(), 1) if t.strip().startswith(name)), 1)
        patterns.append(Pattern("ini_option", rel, line, name, value.strip()))
    return patterns


def _warning_patterns(filters: list[str], addopts: str, text: str, rel: str) -> list[Pattern]:
    """A ``warnings_error`` pattern when the configuration makes every DeprecationWarning an error: pytest applies
    ``filterwarnings`` in order, then ``addopts``' ``-W`` options, and the last filter that matches wins. Filters
    limited to a message or a module are left out: which warnings they catch is not known here."""
    entries = [(f.strip(), "filterwarnings") for f in filters if f.strip()]
    entries += [(w.strip("'\""), "addopts") for w in
                re.findall(r"(?:^|\s)(?:-W\s*=?\s*|--pythonwarnings[=\s]+)(\S+)", addopts)]
    verdict: tuple[str, str] | None = None
    for entry, option in entries:
        action, message, category, module = (entry.split(":") + ["", "", "", ""])[:4]
        if message.strip() or module.strip() or \
                category.strip().rsplit(".", 1)[-1] not in ("", "Warning", "DeprecationWarning"):
            continue
        verdict = (entry, option) if action.strip() == "error" else None
    if verdict is None:
        return []
    line = next((n for n, t in enumerate(text.splitlines(), 1) if t.strip().startswith(verdict[1])), 1)
    return [Pattern("warnings_error", rel, line, verdict[1], verdict[0])]


# -- the suite --------------------------------------------------------------------------------------------
def scan_suite(path: Path | str) -> list[Pattern]:
    """Every cliff-prone pattern of a suite: its conftest.py files in full, its test modules' ``event_loop``
    and ``loop_scope`` use and ``AsyncClient(app=)`` calls, and the configuration files at its root.

    ``path`` may also be one Python file (scanned in full). Conftest patterns come first, then test modules',
    then configuration, each in file order; a pattern is listed once."""
    root = Path(path)
    patterns: list[Pattern] = []
    if root.is_file():
        patterns = scan_python(root, root.name) if root.suffix == ".py" else []
    elif root.is_dir():
        conftests, modules = suite_modules(root)
        for file in conftests:
            patterns += scan_python(file, str(file.relative_to(root)))
        for file in modules:
            patterns += [p for p in scan_python(file, str(file.relative_to(root))) if p.kind in _TEST_MODULE_KINDS]
        for name in CONFIG_FILES:
            if (root / name).is_file():
                patterns += scan_config(root / name, name)
    seen, unique = set(), []
    for p in patterns:
        key = (p.kind, p.file, p.line, p.name)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def event_loop_overrides(project: Path | None) -> list[str]:
    """``conftest.py:12``-style places where the suite defines its own ``event_loop`` fixture, the first one
    of each file, in path order (pytest-asyncio 1.x ignores every one of them)."""
    if project is None or not Path(project).is_dir():
        return []
    found: dict[str, Pattern] = {}
    for p in sorted((p for p in scan_suite(project) if p.kind == "event_loop_override"),
                    key=lambda p: (Path(p.file), p.line)):
        found.setdefault(p.file, p)
    return [p.where for p in found.values()]


def mentions(root: Path | str, needles: tuple[str, ...]) -> str | None:
    """The first Python file under ``root`` (outside :data:`IGNORED_DIRS`) whose text holds one of ``needles``,
    as ``pkg/db.py``; None when none does. The app's code counts here, not only the tests'."""
    root = Path(root)
    if not root.is_dir():
        return None
    for path in sorted(root.rglob("*.py")):
        if IGNORED_DIRS.intersection(path.relative_to(root).parts[:-1]):
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if any(needle in text for needle in needles):
            return str(path.relative_to(root))
    return None
