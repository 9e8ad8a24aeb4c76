"""What a project declares it needs, read as requirements, not as text.

The upgrade advisor's greenlet rule is about a requirement (``sqlalchemy`` without its ``asyncio`` extra and no
``greenlet`` beside it), so it must read requirements the way pip does: a ``description`` that mentions
SQLAlchemy, a mypy plugin path ``sqlalchemy.ext.mypy.plugin`` or a comment are not requirements, and
``greenlet`` declared three lines below ``sqlalchemy`` counts. Sources, at the project root: ``pyproject.toml``
(``[project]`` dependencies and optional dependencies, ``[dependency-groups]``, Poetry's tables), ``setup.cfg``
(``install_requires``, ``extras_require``) and requirements files (``requirements*.txt``, ``requirements/*.txt``,
following ``-r`` includes). Each is parsed with :class:`packaging.requirements.Requirement`; a line that is not a
requirement is skipped, never guessed at.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

__all__ = ["Declared", "declared_requirements", "extras_bringing"]


@dataclass(frozen=True)
class Declared:
    """One requirement and where it is written (``pyproject.toml:12``)."""

    requirement: Requirement
    file: str
    line: int

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def _parse(text: str) -> Requirement | None:
    try:
        return Requirement(text.strip())
    except InvalidRequirement:
        return None


def _line_of(source: str, needle: str) -> int:
    """The first line of ``source`` that holds ``needle`` (quoted requirement strings are unique enough)."""
    for number, line in enumerate(source.splitlines(), 1):
        if needle in line:
            return number
    return 1


def _poetry(name: str, spec: object) -> str:
    """A Poetry dependency (``{version = "^2.0", extras = ["asyncio"]}`` or ``"^2.0"``) as a PEP 508 string."""
    extras: list[str] = []
    if isinstance(spec, dict):
        extras, spec = list(spec.get("extras") or []), spec.get("version") or ""
    version = str(spec or "").strip()
    if version in ("", "*"):
        version = ""
    elif version[0] in "^~":  # caret: up to the next major; tilde: up to the next minor
        parts = [int(p) for p in re.findall(r"\d+", version)[:3]] or [0]
        upper = [parts[0] + 1] if version[0] == "^" else [parts[0], (parts[1] if len(parts) > 1 else 0) + 1]
        version = f">={'.'.join(map(str, parts))},<{'.'.join(map(str, upper))}"
    elif version[0].isdigit():
        version = f"=={version}"
    return f"{name}{'[' + ','.join(extras) + ']' if extras else ''}{version}"


def _from_pyproject(path: Path) -> list[Declared]:
    text = path.read_text(errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    strings: list[str] = []
    project = data.get("project", {})
    strings += project.get("dependencies", [])
    for group in project.get("optional-dependencies", {}).values():
        strings += group
    for group in data.get("dependency-groups", {}).values():
        strings += [item for item in group if isinstance(item, str)]  # {include-group = ...} is not a requirement
    found = [Declared(req, path.name, _line_of(text, item)) for item in strings
             if isinstance(item, str) and (req := _parse(item)) is not None]
    poetry = data.get("tool", {}).get("poetry", {})
    tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {}),
              *(g.get("dependencies", {}) for g in poetry.get("group", {}).values())]
    for table in tables:
        for name, spec in table.items():
            if name.lower() != "python" and (req := _parse(_poetry(name, spec))) is not None:
                key = re.search(rf"^\s*[\"']?{re.escape(name)}[\"']?\s*=", text, re.M)
                found.append(Declared(req, path.name, text.count("\n", 0, key.start()) + 1 if key else 1))
    return found


def _from_setup_cfg(path: Path) -> list[Declared]:
    text = path.read_text(errors="replace")
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    values: list[str] = []
    if parser.has_option("options", "install_requires"):
        values.append(parser.get("options", "install_requires"))
    if parser.has_section("options.extras_require"):
        values += [v for _, v in parser.items("options.extras_require")]
    lines = [line for value in values for line in value.splitlines() if line.strip()]
    return [Declared(req, path.name, _line_of(text, line.strip())) for line in lines
            if (req := _parse(line.split("#", 1)[0])) is not None]


def _from_requirements(path: Path, root: Path, seen: set[Path]) -> list[Declared]:
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    found: list[Declared] = []
    name = str(path.relative_to(root)) if path.is_relative_to(root) else path.name
    for number, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        line = re.split(r"(?:^|\s)#", raw, maxsplit=1)[0].strip()
        include = re.match(r"(?:-r|--requirement)[=\s]*(\S+)$", line)
        if include:
            found += _from_requirements((path.parent / include.group(1)).resolve(), root, seen)
        elif line and not line.startswith("-") and (req := _parse(line)) is not None:
            found.append(Declared(req, name, number))
    return found


def declared_requirements(root: Path | str) -> list[Declared]:
    """Every requirement the project at ``root`` declares, in file order (empty for a file or a bare folder)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found: list[Declared] = []
    if (root / "pyproject.toml").is_file():
        found += _from_pyproject(root / "pyproject.toml")
    if (root / "setup.cfg").is_file():
        found += _from_setup_cfg(root / "setup.cfg")
    seen: set[Path] = set()
    files = sorted(root.glob("requirements*.txt")) + sorted(root.glob("*requirements*.txt")) + \
        sorted((root / "requirements").glob("*.txt"))
    for file in dict.fromkeys(files):
        found += _from_requirements(file.resolve(), root.resolve(), seen)
    return found


def extras_bringing(package: str, dependency: str, fallback: frozenset[str]) -> frozenset[str]:
    """The extras of the installed ``package`` that install ``dependency``, directly or through another of its
    extras (SQLAlchemy: ``greenlet; extra == "asyncio"`` and ``sqlalchemy[asyncio]; extra ==
    "postgresql-asyncpg"``), read from its metadata; ``fallback`` when it is not installed here."""
    from importlib import metadata

    try:
        requires = [Requirement(text) for text in metadata.requires(package) or []]
    except (metadata.PackageNotFoundError, InvalidRequirement):
        return fallback
    direct = {e for r in requires if canonicalize_name(r.name) == canonicalize_name(dependency)
              for e in re.findall(r'extra == "([^"]+)"', str(r.marker or ""))}
    found = set(direct)
    for r in requires:
        if canonicalize_name(r.name) == canonicalize_name(package) and r.extras & direct:
            found |= set(re.findall(r'extra == "([^"]+)"', str(r.marker or "")))
    return frozenset(found) or fallback
