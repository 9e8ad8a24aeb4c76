"""The app's lifespan around an ASGITransport client: the one repair that restructures a statement.

httpx's ``ASGITransport`` sends requests only; the app's startup (``app.state`` set in its lifespan) never runs,
so a test client built on it meets ``'State' object has no attribute ...``. asgi-lifespan's ``LifespanManager``
runs the lifespan around the client, on the test's loop. The edit is mechanical because its shape is fixed:
``async with AsyncClient(transport=ASGITransport(app=X), ...) as c:`` becomes the same statement nested in
``async with LifespanManager(X) as manager:``, with ``app=manager.app`` (the app as the manager wraps it). Through
libcst, so the client's other arguments, the body and every comment stay as they were.
"""

from __future__ import annotations

import libcst as cst

from kit.diagnose.repair.pyedit import Edited, ensure_import
from kit.errors import FixError

__all__ = ["wrap_in_lifespan_manager"]


def _callee(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _transport_app(call: cst.Call) -> tuple[cst.Arg, cst.Call, cst.Arg] | None:
    """(the transport argument, the ASGITransport call, its app argument) of an AsyncClient(...) call."""
    if _callee(call.func) != "AsyncClient":
        return None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "transport" and isinstance(arg.value, cst.Call) \
                and _callee(arg.value.func) == "ASGITransport":
            app = next((a for a in arg.value.args if a.keyword is not None and a.keyword.value == "app"), None)
            if app is not None:
                return arg, arg.value, app
    return None


class _Wrap(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (cst.metadata.PositionProvider,)

    def __init__(self) -> None:
        super().__init__()
        self.line: int | None = None
        self._inside_manager = 0

    def visit_With(self, node: cst.With) -> bool:
        if any(isinstance(i.item, cst.Call) and _callee(i.item.func) == "LifespanManager" for i in node.items):
            self._inside_manager += 1
        return True

    def leave_With(self, original: cst.With, updated: cst.With) -> cst.BaseStatement:
        if any(isinstance(i.item, cst.Call) and _callee(i.item.func) == "LifespanManager" for i in original.items):
            self._inside_manager -= 1
            return updated
        if self._inside_manager or updated.asynchronous is None or len(updated.items) != 1:
            return updated
        item = updated.items[0]
        found = _transport_app(item.item) if isinstance(item.item, cst.Call) else None
        if found is None:
            return updated
        transport, asgi, app = found
        managed = cst.Attribute(cst.Name("manager"), cst.Name("app"))
        new_asgi = asgi.with_changes(args=[a.with_changes(value=managed) if a is app else a for a in asgi.args])
        new_call = item.item.with_changes(args=[a.with_changes(value=new_asgi) if a is transport else a
                                                for a in item.item.args])
        inner = updated.with_changes(items=[item.with_changes(item=new_call)], leading_lines=[])
        self.line = self.line or self.get_metadata(cst.metadata.PositionProvider, original).start.line
        return cst.With(
            items=[cst.WithItem(cst.Call(cst.Name("LifespanManager"), [cst.Arg(app.value)]),
                                asname=cst.AsName(cst.Name("manager")))],
            body=cst.IndentedBlock([inner]), asynchronous=cst.Asynchronous(), leading_lines=updated.leading_lines)


def wrap_in_lifespan_manager(text: str) -> Edited | None:
    """Run the app's lifespan around every ``async with AsyncClient(transport=ASGITransport(app=X))`` not already
    inside a ``LifespanManager``; ensures ``from asgi_lifespan import LifespanManager``. None when none is found."""
    try:
        wrapper = cst.metadata.MetadataWrapper(cst.parse_module(text))
    except cst.ParserSyntaxError as exc:
        raise FixError(f"kit could not parse a file of the suite to repair it ({exc.message}, line {exc.raw_line}). "
                       "Fix its syntax (pytest would fail to import it too) and run kit fix again.") from None
    transformer = _Wrap()
    new = wrapper.visit(transformer).code
    if transformer.line is None or new == text:
        return None
    new = ensure_import(new, "asgi_lifespan", "LifespanManager")
    line = next(i for i, row in enumerate(new.splitlines(), 1) if "LifespanManager(" in row and "with" in row)
    return Edited(new, line, "the client runs inside `LifespanManager(app)`, so the app's lifespan runs")
