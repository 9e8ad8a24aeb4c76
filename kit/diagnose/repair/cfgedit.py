"""pytest's ini options: the file pytest reads them from, found as pytest finds it, and its text with them set.

A repair such as ``asyncio_default_fixture_loop_scope = function`` must land in the one file pytest reads, or it
does nothing (an option in ``tox.ini`` is ignored when ``pytest.ini`` exists), and must leave the rest of that
file the user's: an ini file is edited line by line inside its one section, every other line kept byte for byte;
TOML goes through tomlkit, which keeps comments and layout. Lines are split the way pytest's parser (iniconfig)
splits them, so what counts as an option, its continuation lines and its value is what pytest would read.
Nothing here writes a file: the repair loop decides what to write and where (its scratch copy).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from kit.errors import FixError


def _read(path: Path) -> str:
    """The file as it is, CRLF line endings included (the patch must match its bytes)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


__all__ = ["config_file", "ini_option", "set_ini_options"]

# pytest's precedence (pytest 9, `_pytest/config/findpaths.py`); `pytest.toml` files are pytest 9's own.
_ALWAYS = ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini")  # read even without a pytest section
_ORDER = (*_ALWAYS, "pyproject.toml", "tox.ini", "setup.cfg")
_INI_SECTION = {"pytest.ini": "pytest", ".pytest.ini": "pytest", "tox.ini": "pytest", "setup.cfg": "tool:pytest"}
_COMMENT = "#;"


@dataclass
class _Section:
    """Where a section of an ini file is: its header line, the line after its last option line, its options."""

    header: int
    end: int
    options: dict[str, list[int]] = field(default_factory=dict)  # name -> [first line, line after the last]


def _is_blank(line: str) -> bool:
    """Blank or a comment: iniconfig skips both, even between an option and its continuation lines."""
    return line.lstrip()[:1] in _COMMENT or not line.strip()


def _split(line: str) -> tuple[str, str, str]:
    """An option line as iniconfig splits it: ``=`` unless the name would hold a ``:``, else ``:``."""
    name, separator, value = line.partition("=")
    if not separator or ":" in name:
        name, separator, value = line.partition(":")
    return name, separator, value


def _sections(lines: list[str]) -> dict[str, _Section]:
    """The sections of an ini file (the first of a duplicated name, where pytest would stop with an error)."""
    sections: dict[str, _Section] = {}
    current: _Section | None = None
    option: str | None = None
    for index, line in enumerate(lines):
        text = line.rstrip().lstrip("\ufeff")  # a byte order mark, which iniconfig drops
        if _is_blank(text):
            continue
        if text[0] == "[":
            header = text
            for character in _COMMENT:
                header = header.split(character)[0].rstrip()
            if header.endswith("]"):
                current, option = _Section(index, index + 1), None
                sections.setdefault(header[1:-1], current)
                continue
        elif not text[0].isspace() and current is not None:
            option = _split(text)[0].strip()
            current.options.setdefault(option, [index, index + 1])
            current.end = index + 1
            continue
        if current is not None and option is not None:  # a continuation line of ``option``'s value
            current.options[option][1] = current.end = index + 1
    return sections


def _ini_value(lines: list[str], span: list[int]) -> str:
    """An option's value as pytest reads it: its first line's value and its continuation lines, one per line."""
    first = _split(lines[span[0]])[2].strip()
    rest = [line.strip() for line in lines[span[0] + 1:span[1]] if not _is_blank(line)]
    return "\n".join([first, *rest] if first else rest)


def _normal(value: str) -> str:
    """A value to write, compared as pytest would read it back (blank lines and indentation do not count)."""
    return "\n".join(line.strip() for line in value.splitlines() if line.strip())


def _toml_value(value: Any) -> str:
    """A TOML value as text: lists one item a line (as ini files write them), booleans as TOML spells them."""
    if isinstance(value, list):
        return "\n".join(_toml_value(item) for item in value)
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise FixError(f"{path} is not valid TOML ({error}), so pytest cannot read its configuration either. "
                       "Fix the file, then run `kit fix` again.") from error


def _toml_table(path: Path, document: dict[str, Any]) -> tuple[str, ...] | None:
    """The keys of the table pytest reads in a TOML file: ``[pytest]`` in pytest.toml; in pyproject.toml
    ``[tool.pytest]`` (pytest 9's native types) when it holds options, else ``[tool.pytest.ini_options]``."""
    if path.name != "pyproject.toml":
        return ("pytest",)
    pytest = document.get("tool", {}).get("pytest", {})
    if any(key != "ini_options" for key in pytest):
        return ("tool", "pytest")
    return ("tool", "pytest", "ini_options") if "ini_options" in pytest else None


def _counts(path: Path) -> bool:
    """Whether pytest takes its configuration from ``path`` (it exists and, where that matters, has a section)."""
    if not path.is_file():
        return False
    if path.name in _ALWAYS:
        return True
    if path.suffix == ".toml":
        return _toml_table(path, _load_toml(path)) is not None
    return _INI_SECTION[path.name] in _sections(_read(path).splitlines(keepends=True))


def config_file(project: Path) -> Path | None:
    """The file in ``project`` pytest reads its ini options from, in pytest's precedence, or None.

    Only ``project`` itself is looked at, not its parents: kit fixes a suite copied into a scratch directory,
    where a parent's configuration is nobody's. A ``pyproject.toml`` without a pytest table does not count
    (pytest takes it as rootdir marker, with no options)."""
    return next((project / name for name in _ORDER if _counts(project / name)), None)


def ini_option(project: Path, name: str) -> str | None:
    """The value of option ``name`` as written in the configuration file (lists one item a line), or None."""
    path = config_file(project)
    if path is None:
        return None
    if path.suffix == ".toml":
        document = _load_toml(path)
        table: Any = document
        for key in _toml_table(path, document) or ():
            table = table.get(key, {})
        return _toml_value(table[name]) if name in table else None
    lines = _read(path).splitlines(keepends=True)
    section = _sections(lines).get(_INI_SECTION[path.name])
    return _ini_value(lines, section.options[name]) if section and name in section.options else None


def _leading(text: str) -> str:
    return text[:len(text) - len(text.lstrip())]


def _option_lines(head: str, value: str, newline: str, indent: str) -> list[str]:
    """``head`` (name, separator, spacing) and ``value``; a multi-line value continues on indented lines."""
    first, *rest = [line.strip() for line in value.split("\n")] or [""]
    return [(head + first if first else head.rstrip()) + newline, *(indent + line + newline for line in rest if line)]


def _set_ini(text: str, section_name: str, options: dict[str, str]) -> tuple[str, int] | None:
    """``text`` with ``options`` set in ``[section_name]``, and the first changed line; other lines untouched."""
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if "\r\n" in text else "\n"
    section = _sections(lines).get(section_name)
    added = [line for key, value in options.items() if section is None or key not in section.options
             for line in _option_lines(f"{key} = ", value, newline, "    ")]
    if section is None:  # only a pytest.ini (or .pytest.ini) gets here: pytest reads it without a section too
        prefix = text if not text or text.endswith(("\n", "\r")) else text + newline
        prefix += newline if prefix.strip() else ""  # a blank line between the sections
        return prefix + f"[{section_name}]" + newline + "".join(added), len(prefix.splitlines()) + 2
    replaced: dict[int, list[str]] = {}
    dropped: set[int] = set()
    for key, value in options.items():
        span = section.options.get(key)
        if span is None or _ini_value(lines, span) == _normal(value):
            continue
        continuation = [index for index in range(span[0] + 1, span[1]) if not _is_blank(lines[index])]
        indent = _leading(lines[continuation[0]]) if continuation else "    "
        name, separator, rest = _split(lines[span[0]])
        spacing = _leading(rest) if rest.strip() else " "
        if continuation and not rest.strip():  # written `name =` and the value below it: kept so
            value = "\n" + value
        replaced[span[0]] = _option_lines(name + separator + spacing, value, newline, indent)
        dropped.update(continuation)
    if not replaced and not added:
        return None
    out: list[str] = []
    first: int | None = None
    for index in range(len(lines) + 1):
        if index == section.end and added:
            if out and not out[-1].endswith(("\n", "\r")):
                out[-1] += newline
            first = len(out) + 1 if first is None else first
            out += added
        if index == len(lines) or index in dropped:
            continue
        if index in replaced:
            first = len(out) + 1 if first is None else first
            out += replaced[index]
        else:
            out.append(lines[index])
    return "".join(out), first or 1


def _native(value: str, old: Any, typed: bool) -> Any:
    """``value`` in the TOML type the option already has, else a string. In a table of native types (``typed``:
    pytest 9 checks them) a new multi-line value is a list and ``true``/``false`` a boolean, as pytest expects."""
    if isinstance(old, list) or (typed and old is None and "\n" in _normal(value)):
        return [line for line in _normal(value).split("\n") if line]
    flag = value.strip().lower()
    if (isinstance(old, bool) or (typed and old is None)) and flag in ("true", "false"):
        return flag == "true"
    if isinstance(old, int) and not isinstance(old, bool) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _same(old: Any, value: str) -> bool:
    """Whether an option already holds ``value`` (``true`` is ``True`` for a boolean, as pytest reads it)."""
    if isinstance(old, bool):
        return _toml_value(old) == value.strip().lower()
    return _toml_value(old) == _normal(value)


def _set_toml(path: Path, text: str, options: dict[str, str]) -> tuple[str, int] | None:
    """``text`` with ``options`` set in the table pytest reads, through tomlkit (comments and layout kept)."""
    document = tomlkit.parse(text)  # _load_toml has read this file already: it parses
    table: Any = document
    keys = _toml_table(path, document.unwrap()) or ("pytest",)
    for key in keys:
        if key not in table:
            table[key] = tomlkit.table()
        table = table[key]
    for key, value in options.items():
        old = table.get(key)
        old = old.unwrap() if hasattr(old, "unwrap") else old  # tomlkit's items, but plain booleans
        if old is None:
            _add_inside(table, key, _native(value, old, typed=keys[-1] != "ini_options"))
        elif not _same(old, value):
            table[key] = _native(value, old, typed=keys[-1] != "ini_options")
    new = document.as_string()
    if new == text:
        return None
    old_lines, new_lines = text.splitlines(), new.splitlines()
    return new, next((number for number, (before, after) in enumerate(zip(old_lines, new_lines), 1)
                      if before != after), len(old_lines) + 1)


def _add_inside(table: Any, key: str, value: Any) -> None:
    """A new key right after the table's last one. tomlkit appends to the table's body, which holds the blank
    lines and comments that trail it: a comment heading the next table (``# ---- lint ----``) would end up above
    the new key, glued to the next table's header."""
    container = getattr(table, "value", None)
    body = getattr(container, "body", None) or []
    if body and body[-1][0] is None and not any(isinstance(item, (tomlkit.items.Table, tomlkit.items.AoT))
                                                for _, item in body):
        last = [k for k, _ in body if k is not None]
        if last:
            try:  # tomlkit has no public insert; this helper has been there since 0.5
                container._insert_after(last[-1], key, value)
                return
            except (AttributeError, KeyError, ValueError):
                pass
    table[key] = value


def set_ini_options(project: Path, options: dict[str, str]) -> tuple[Path, str, int] | None:
    """Set ``options`` where pytest reads them: (the file, its new text, the first changed line), or None when
    every option already has its value. Without a configuration file, a new ``pytest.ini``. Writes nothing."""
    path = config_file(project)
    if path is None:
        path, text = project / "pytest.ini", ""
    else:
        text = _read(path)
    if path.suffix == ".toml":
        result = _set_toml(path, text, options)
    else:
        result = _set_ini(text, _INI_SECTION[path.name], options)
    return None if result is None else (path, *result)
