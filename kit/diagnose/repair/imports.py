"""Imports a repair leaves unused: removed with the code that used them, so the patch passes the user's linter.

Removing a dead ``event_loop`` fixture usually leaves ``import asyncio`` behind, which ruff and flake8 flag (F401)
in the reviewer's CI. Only a plain ``import NAME`` statement of its own line is removed, and only when nothing in
the module refers to ``NAME`` any more (a name, or the first part of an attribute chain): ``from`` imports, aliased
and grouped imports are left as they are.
"""

from __future__ import annotations

import libcst as cst

__all__ = ["drop_unused_import"]


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
