"""Imports a repair adds or leaves unused, placed and removed the way the user's linter and import sorter expect.

A new import goes into the module's header: a standard-library one into that group in order, any other after the
last import (:func:`with_import`).
Imports a repair leaves unused are removed with the code that used them, so the patch passes the user's linter.

Removing a dead ``event_loop`` fixture usually leaves ``import asyncio`` behind, which ruff and flake8 flag (F401)
in the reviewer's CI. Only a plain ``import NAME`` statement of its own line is removed, and only when nothing in
the module refers to ``NAME`` any more (a name, or the first part of an attribute chain): ``from`` imports, aliased
and grouped imports are left as they are.
"""

from __future__ import annotations

import sys

import libcst as cst
import libcst.matchers as m

__all__ = ["drop_unused_import", "imported_names", "node_code", "with_import"]


def node_code(node: cst.CSTNode) -> str:
    """A node's source, as it is written."""
    return cst.Module(body=[]).code_for_node(node)


class _Uses(cst.CSTVisitor):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.used = False

    def visit_Import(self, node: cst.Import) -> bool:
        return False  # the import statement itself is not a use

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name:
            self.used = True


def _is_plain_import(statement: cst.BaseStatement, name: str) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    node = statement.body[0]
    return isinstance(node, cst.Import) and len(node.names) == 1 and node.names[0].asname is None \
        and isinstance(node.names[0].name, cst.Name) and node.names[0].name.value == name


def drop_unused_import(text: str, name: str) -> str:
    """``text`` without its top-level ``import NAME`` when nothing uses ``NAME`` (else ``text`` unchanged)."""
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError:
        return text
    uses = _Uses(name)
    module.visit(uses)
    if uses.used:
        return text
    body = [s for s in module.body if not _is_plain_import(s, name)]
    return text if len(body) == len(module.body) else module.with_changes(body=body).code


def imported_names(module: cst.Module) -> set[tuple[str | None, str, str]]:
    """The module's imports as (from, name, bound as): module-level ones and those in module-level ``try:`` blocks,
    where optional imports live; relative and star imports are left out (they cannot be matched by name)."""
    tries = (line for statement in module.body if isinstance(statement, cst.Try)
             and isinstance(statement.body, cst.IndentedBlock) for line in statement.body.body)
    found: set[tuple[str | None, str, str]] = set()
    for statement in (*module.body, *tries):
        for small in statement.body if isinstance(statement, cst.SimpleStatementLine) else ():
            source = node_code(small.module) if isinstance(small, cst.ImportFrom) and small.module else None
            if isinstance(small, cst.Import) or (source and not small.relative
                                                 and not isinstance(small.names, cst.ImportStar)):
                found |= {(source, node_code(alias.name), node_code(alias.asname.name if alias.asname else alias.name))
                          for alias in small.names}
    return found


def _is_import(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, cst.Import | cst.ImportFrom) for small in statement.body)


def _is_docstring(statement: cst.CSTNode) -> bool:
    return m.matches(statement, m.SimpleStatementLine(body=[m.Expr(value=m.SimpleString() | m.ConcatenatedString())]))


def _top_module(statement: cst.CSTNode) -> str | None:
    """The top-level package an import line names (``sqlalchemy`` for ``from sqlalchemy.ext import x``); None for
    a relative import."""
    small = statement.body[0]
    if isinstance(small, cst.ImportFrom):
        return None if small.relative or small.module is None else node_code(small.module).split(".")[0]
    return node_code(small.names[0].name).split(".")[0]


def _import_position(module: cst.Module, name_of_module: str) -> tuple[int, bool]:
    """Where a new import of ``name_of_module`` goes in the module's header, and whether the line after it needs a
    blank line first. A standard-library module joins the standard-library group (after its last member, else
    before the first other import, a blank line between), as isort and ruff order them; any other goes after the
    last import."""
    index, imports = 0, []
    for position, statement in enumerate(module.body):
        if isinstance(statement, cst.FunctionDef | cst.ClassDef):
            break
        if _is_import(statement):
            imports.append(position)
            index = position + 1
        elif position == 0 and _is_docstring(statement):
            index = position + 1
    if name_of_module.split(".")[0] not in sys.stdlib_module_names:
        return index, False
    ordered = [(position, _top_module(module.body[position])) for position in imports]
    stdlib = [position for position, top in ordered if top in sys.stdlib_module_names and top != "__future__"]
    if stdlib:  # in order: before the first `from` line or later name of the group, as the sorters keep it
        later = [position for position in stdlib if isinstance(module.body[position].body[0], cst.ImportFrom)
                 or _top_module(module.body[position]) > name_of_module]
        return (later[0] if later else stdlib[-1] + 1), False
    others = [position for position, top in ordered if top != "__future__"]
    return (others[0], True) if others else (index, False)


def with_import(module: cst.Module, name_of_module: str, name: str | None = None) -> cst.Module:
    """``module`` importing ``name_of_module`` (or ``name`` from it) in its header's imports, where a reader and the
    user's import sorter look for it; the module's own statements are not rebuilt, so marked nodes stay valid."""
    wanted = (None, name_of_module, name_of_module) if name is None else (name_of_module, name, name)
    if wanted in imported_names(module):
        return module
    index, blank_after = _import_position(module, name_of_module)
    statement = cst.parse_statement(f"from {name_of_module} import {name}" if name else f"import {name_of_module}")
    body = list(module.body)
    if blank_after or (index < len(body) and _is_import(body[index]) and body[index].leading_lines):
        # the line the import goes before keeps its place in the layout: the comment or blank lines above it
        # now head the new import (a new standard-library group ends with a blank line)
        statement = statement.with_changes(leading_lines=body[index].leading_lines)
        body[index] = body[index].with_changes(leading_lines=[cst.EmptyLine()] if blank_after else [])
    elif index and _is_docstring(body[index - 1]):
        statement = statement.with_changes(leading_lines=[cst.EmptyLine()])
    return module.with_changes(body=[*body[:index], statement, *body[index:]])
