"""Repairs of a suite's Python source, made through libcst so the rest of the file stays the user's.

A repair's diff should show the repair and nothing else. libcst's tree is concrete (every space, comment, trailing
comma and parenthesis is in it), so printing an edited tree gives the file back byte for byte outside the edit;
regular expressions break on the first comment or multi-line call, and ``ast`` forgets formatting altogether.
Each function returns :class:`Edited` or None when there is nothing to change, which also means "already done":
every edit is idempotent, so the repair loop can apply one again without remembering what it applied.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from kit.diagnose.repair.imports import drop_unused_import, imported_names, with_import
from kit.diagnose.repair.imports import node_code as _code
from kit.errors import FixError

__all__ = ["Edited", "append_block", "async_fixture_decorator", "ensure_import", "fixture_keyword",
           "insert_after_yield", "remove_function", "rewrite_asyncclient_app", "set_call_keyword",
           "without_unused_import"]

_NO_SPACE = cst.SimpleWhitespace("")
_FIXTURE_PACKAGES = ("pytest", "pytest_asyncio")


@dataclass(frozen=True)
class Edited:
    """An edited source: ``line`` (1-based, in ``text``) is where a reader of the diff should look first."""

    text: str
    line: int
    description: str


def _parse(text: str) -> cst.Module:
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        raise FixError(
            f"kit fix cannot edit Python source that does not parse (line {error.raw_line}: {error.message}). "
            "Fix that syntax error first (pytest cannot import the file either), then run `kit fix` again."
        ) from error


def _meaning(code: str, mode: str = "eval") -> str:
    """Code compared by what it means, so ``'x'`` equals ``"x"`` and spacing or comments do not matter."""
    try:
        return ast.dump(ast.parse(f"({code.strip()})" if mode == "eval" else code.strip(), mode=mode))
    except SyntaxError:  # valid only in its context (``nonlocal x``): compared as written
        return code.strip()


def _edited(before: str, module: cst.Module, marked: Sequence[cst.CSTNode], description: str) -> Edited | None:
    """The result of an edit; ``marked`` are nodes of ``module`` whose first line is the one to show."""
    text = module.code
    if text == before or not marked:
        return None
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return Edited(text, min(positions[node].start.line for node in marked), description)


def _last_name(node: cst.BaseExpression) -> str | None:
    """``sessionmaker`` for ``sessionmaker`` and ``orm.sessionmaker``: how a call is matched whatever the import."""
    name = node.attr if isinstance(node, cst.Attribute) else node
    return name.value if isinstance(name, cst.Name) else None


def _names(items: Sequence[str]) -> str:
    return ", ".join(dict.fromkeys(items))


def _bare_newline(whitespace: cst.ParenthesizedWhitespace) -> cst.ParenthesizedWhitespace:
    """The same line break and indentation without comments: copied next to a new argument, a comment would double."""
    return whitespace.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])


def _between(call: cst.Call) -> cst.BaseParenthesizableWhitespace:
    """What follows a comma between the call's arguments: a space, or a line break and the arguments' indentation."""
    several = len(call.args) >= 2 and isinstance(call.args[-2].comma, cst.Comma)
    whitespace = call.args[-2].comma.whitespace_after if several else call.whitespace_before_args
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return _bare_newline(whitespace)
    return whitespace if several else cst.SimpleWhitespace(" ")


def _with_keyword(call: cst.Call, keyword: str, value: str) -> cst.Call:
    """``call`` with ``keyword=value`` as its last argument: one-line calls stay on one line; in a multi-line call
    the new argument gets a line of its own at the arguments' indentation, and the old last argument keeps its
    comment and the call its trailing comma."""
    equal = next((arg.equal for arg in call.args if arg.keyword is not None),
                 cst.AssignEqual(whitespace_before=_NO_SPACE, whitespace_after=_NO_SPACE))
    arg = cst.Arg(value=cst.parse_expression(value), keyword=cst.Name(keyword), equal=equal)
    if not call.args:
        return call.with_changes(args=[arg])
    last, between = call.args[-1], _between(call)
    trailing = last.comma if isinstance(last.comma, cst.Comma) else None
    end = trailing.whitespace_after if trailing else last.whitespace_after_arg
    if isinstance(end, cst.ParenthesizedWhitespace):
        if isinstance(between, cst.ParenthesizedWhitespace):
            between = between.with_changes(first_line=end.first_line, empty_lines=end.empty_lines)
        else:  # `f(a, b\n)`: the arguments share a line, the closing parenthesis has its own
            between = end.with_changes(last_line=cst.SimpleWhitespace(end.last_line.value + "    "))
        end = _bare_newline(end)
    if trailing:
        last = last.with_changes(comma=trailing.with_changes(whitespace_after=between))
        arg = arg.with_changes(comma=trailing.with_changes(whitespace_after=end))
    else:
        last = last.with_changes(comma=cst.Comma(whitespace_after=between), whitespace_after_arg=_NO_SPACE)
        arg = arg.with_changes(whitespace_after_arg=end)
    return call.with_changes(args=[*call.args[:-1], last, arg])


def _keyword_arg(call: cst.Call, keyword: str) -> cst.Arg | None:
    return next((arg for arg in call.args if arg.keyword is not None and arg.keyword.value == keyword), None)


def _may_pass(call: cst.Call, keyword: str) -> bool:
    """Whether the call passes ``keyword``, or may through ``**options``: adding it could then raise a TypeError."""
    return _keyword_arg(call, keyword) is not None or any(arg.star == "**" for arg in call.args)


class _Calls(cst.CSTTransformer):
    """Applies ``edit`` to every call (None keeps it), keeping the edited calls to report the first one's line."""

    def __init__(self, edit: Callable[[cst.Call], cst.Call | None]) -> None:
        super().__init__()
        self.edit = edit
        self.changed: list[cst.Call] = []

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        edited = self.edit(updated_node)
        self.changed += [] if edited is None else [edited]
        return updated_node if edited is None else edited


def set_call_keyword(text: str, callees: frozenset[str], keyword: str, value: str) -> Edited | None:
    """Pass ``keyword=value`` (``value`` is Python source) to every call of ``callees`` that does not pass it yet."""
    names: list[str] = []

    def edit(call: cst.Call) -> cst.Call | None:
        name = _last_name(call.func)
        if name not in callees or _may_pass(call, keyword):
            return None
        names.append(name)
        return _with_keyword(call, keyword, value)

    calls = _Calls(edit)
    module = _parse(text).visit(calls)
    count = f" ({len(names)} calls)" if len(names) > 1 else ""
    description = f"`{keyword}={value}` on {_names([f'{name}(...)' for name in names])}{count}"
    return _edited(text, module, calls.changed, description)


def without_unused_import(edited: Edited | None, name: str) -> Edited | None:
    """``edited`` without a top-level ``import NAME`` the edit left unused (the user's linter would flag it), its
    line moved up by the lines that went: the import sits above the code it served."""
    if edited is None:
        return None
    text = drop_unused_import(edited.text, name)
    removed = edited.text.count("\n") - text.count("\n")
    return Edited(text, max(1, edited.line - removed), edited.description)


def ensure_import(text: str, module: str, name: str | None = None) -> str:
    """``text`` with ``import module`` (or ``from module import name``) unless it already has one of either form."""
    return with_import(_parse(text), module, name).code


def _fixture_package(decorator: cst.Decorator, bare: dict[str, str]) -> str | None:
    """``pytest`` or ``pytest_asyncio`` when the decorator, called or not, is that package's ``fixture``."""
    func = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
    if isinstance(func, cst.Attribute) and func.attr.value == "fixture" and isinstance(func.value, cst.Name):
        return func.value.value if func.value.value in _FIXTURE_PACKAGES else None
    return bare.get(func.value) if isinstance(func, cst.Name) else None


class _FixtureDecorators(cst.CSTTransformer):
    """Calls ``edit`` on the fixture decorator of every function ``wanted`` selects; ``edit`` returns None to keep."""

    def __init__(self, module: cst.Module, wanted: Callable[[cst.FunctionDef], bool],
                 edit: Callable[[cst.BaseExpression, str], cst.BaseExpression | None]) -> None:
        super().__init__()
        self.wanted, self.edit = wanted, edit
        # bare names that are a fixture decorator here (`from pytest import fixture`), with their package
        self.bare = {bound: source for source, name, bound in imported_names(module)
                     if source in _FIXTURE_PACKAGES and name == "fixture"}
        self.changed: list[cst.Decorator] = []
        self.functions: list[str] = []

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        decorators = list(updated_node.decorators)
        found = [(index, package) for index, decorator in enumerate(decorators)
                 if (package := _fixture_package(decorator, self.bare)) is not None]
        if not found or not self.wanted(updated_node):
            return updated_node
        at, package = found[0]
        edited = self.edit(decorators[at].decorator, package)
        if edited is None:
            return updated_node
        decorators[at] = decorators[at].with_changes(decorator=edited)
        self.changed.append(decorators[at])
        self.functions.append(updated_node.name.value)
        return updated_node.with_changes(decorators=decorators)


def async_fixture_decorator(text: str, names: frozenset[str] | None = None) -> Edited | None:
    """``@pytest.fixture`` on ``async def`` fixtures (only ``names`` when given) becomes ``@pytest_asyncio.fixture``
    with the same arguments: in strict mode pytest-asyncio runs only fixtures it was asked to."""
    module = _parse(text)
    asyncio_fixture = cst.Attribute(value=cst.Name("pytest_asyncio"), attr=cst.Name("fixture"))

    def edit(expression: cst.BaseExpression, package: str) -> cst.BaseExpression | None:
        if package != "pytest":
            return None
        return expression.with_changes(func=asyncio_fixture) if isinstance(expression, cst.Call) else asyncio_fixture

    transformer = _FixtureDecorators(
        module, lambda node: node.asynchronous is not None and (names is None or node.name.value in names), edit)
    module = module.visit(transformer)
    module = with_import(module, "pytest_asyncio") if transformer.changed else module
    functions = _names([f"`{name}`" for name in transformer.functions])
    return _edited(text, module, transformer.changed, f"`@pytest_asyncio.fixture` on {functions}")


def fixture_keyword(text: str, fixture: str, keyword: str, value: str) -> Edited | None:
    """``keyword=value`` on the decorator of fixture ``fixture`` (a bare decorator becomes a call)."""
    module = _parse(text)

    def edit(expression: cst.BaseExpression, package: str) -> cst.BaseExpression | None:
        if not isinstance(expression, cst.Call):
            return _with_keyword(cst.Call(func=expression), keyword, value)
        present = _keyword_arg(expression, keyword)
        if present is None:
            return None if _may_pass(expression, keyword) else _with_keyword(expression, keyword, value)
        if _meaning(_code(present.value)) == _meaning(value):
            return None
        replaced = present.with_changes(value=cst.parse_expression(value))
        return expression.with_changes(args=[replaced if arg is present else arg for arg in expression.args])

    transformer = _FixtureDecorators(module, lambda node: node.name.value == fixture, edit)
    module = module.visit(transformer)
    return _edited(text, module, transformer.changed, f"`{keyword}={value}` on fixture `{fixture}`")


def _function(module: cst.Module, name: str) -> cst.FunctionDef | None:
    """The module-level function ``name``, else the first method of that name in a module-level class."""
    methods = (statement for klass in module.body if isinstance(klass, cst.ClassDef)
               for statement in klass.body.body if isinstance(klass.body, cst.IndentedBlock))
    return next((statement for statement in (*module.body, *methods)
                 if isinstance(statement, cst.FunctionDef) and statement.name.value == name), None)


def _simple_lines(node: cst.CSTNode) -> Iterator[tuple[cst.CSTNode, cst.SimpleStatementLine]]:
    """A function's statement lines with their blocks, in source order, leaving out those of functions and classes
    defined inside it (their yields and teardowns are theirs)."""
    for child in node.children:
        if isinstance(child, cst.SimpleStatementLine):
            yield node, child
        elif not isinstance(child, cst.FunctionDef | cst.ClassDef | cst.Lambda | cst.BaseExpression):
            yield from _simple_lines(child)


def insert_after_yield(text: str, function: str, statement: str) -> Edited | None:
    """``statement`` right after the first ``yield`` of ``function``, in the yield's own block: the teardown of a
    fixture runs there. Nothing when the statement already follows the yield anywhere in the function."""
    module = _parse(text)
    target = _function(module, function)
    lines = list(_simple_lines(target.body)) if target is not None else []
    at = next((index for index, (_, line) in enumerate(lines)
               if any(isinstance(getattr(small, "value", None), cst.Yield) for small in line.body)), None)
    if at is None or not isinstance(lines[at][0], cst.IndentedBlock):
        return None
    wanted = _meaning(statement, "exec")
    if any(_meaning(_code(small).rstrip().rstrip(";"), "exec") == wanted
           for _, line in lines[at + 1:] for small in line.body):
        return None
    block, anchor = lines[at]
    body = list(block.body)
    after = next(index for index, line in enumerate(body) if line is anchor) + 1
    new = cst.parse_statement(statement.strip() + "\n")
    module = module.deep_replace(block, block.with_changes(body=[*body[:after], new, *body[after:]]))
    return _edited(text, module, [new], f"`{statement.strip()}` after the yield in `{function}`")


def rewrite_asyncclient_app(text: str) -> Edited | None:
    """``AsyncClient(app=X)`` becomes ``AsyncClient(transport=ASGITransport(app=X))``: httpx 0.28 removed ``app=``."""
    imported: list[bool] = []

    def edit(call: cst.Call) -> cst.Call | None:
        app = _keyword_arg(call, "app")
        if _last_name(call.func) != "AsyncClient" or app is None or _keyword_arg(call, "transport"):
            return None
        func = call.func  # written `httpx.AsyncClient`: `httpx.ASGITransport` needs no import
        qualified = isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "httpx"
        imported.append(not qualified)
        transport = cst.parse_expression("httpx.ASGITransport" if qualified else "ASGITransport")
        inner = cst.Call(func=transport, args=[cst.Arg(value=app.value, keyword=cst.Name("app"), equal=app.equal)])
        moved = app.with_changes(keyword=cst.Name("transport"), value=inner)
        return call.with_changes(args=[moved if arg is app else arg for arg in call.args])

    calls = _Calls(edit)
    module = _parse(text).visit(calls)
    if any(imported):
        module = with_import(module, "httpx", "ASGITransport")
    return _edited(text, module, calls.changed, "`AsyncClient(transport=ASGITransport(app=...))` instead of `app=`")


def _defined(module: cst.Module) -> set[str]:
    return {statement.name.value for statement in module.body if isinstance(statement, cst.FunctionDef | cst.ClassDef)}


def append_block(text: str, block: str) -> Edited | None:
    """``block`` (module-level code, e.g. a fixture) at the end of the module after two blank lines; nothing when
    a module-level function or class of a name it defines exists already (or, without names, it is all there)."""
    module, addition = _parse(text), _parse(block.strip("\n") + "\n")
    defined, existing = _defined(addition), _defined(module)
    if defined & existing:
        return None
    present = {_meaning(_code(statement), "exec") for statement in module.body}
    if not defined and all(_meaning(_code(statement), "exec") in present for statement in addition.body):
        return None
    kept = text.splitlines(keepends=True)
    while kept and not kept[-1].strip():
        kept.pop()
    newline = module.default_newline
    prefix = "".join(kept)
    if prefix and not prefix.endswith(("\n", "\r")):
        prefix += newline
    body = newline.join(addition.code.splitlines()) + newline
    names = _names([f"`{name}`" for name in sorted(defined)]) or "a block"
    return Edited(prefix + newline * 2 + body if prefix else body, len(kept) + 3 if prefix else 1, f"added {names}")


def remove_function(text: str, name: str) -> Edited | None:
    """Remove every module-level function ``name`` with its decorators and the comment lines right above it; a
    comment separated from it by a blank line (a section heading, say) stays, with the next statement."""
    module = _parse(text)
    body: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            lines = list(statement.leading_lines)
            while lines and lines[-1].comment is not None:  # its own comments
                lines.pop()
            if any(line.comment is not None for line in lines):
                carried += lines
            continue
        if carried:
            own = statement.leading_lines
            while carried[-1].comment is None and own and own[0].comment is None:
                carried.pop()  # the next statement's own blank lines separate it from the comments
            statement, carried = statement.with_changes(leading_lines=[*carried, *statement.leading_lines]), []
        body.append(statement)
    if len(body) == len(module.body):
        return None
    new = module.with_changes(body=body, footer=[*carried, *module.footer]).code
    old_lines, new_lines = text.splitlines(), new.splitlines()
    line = next((number for number, (old, now) in enumerate(zip(old_lines, new_lines), 1) if old != now),
                len(new_lines))
    return Edited(new, max(1, min(line, len(new_lines))), f"removed `{name}`")
