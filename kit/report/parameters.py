"""Notebook parameters the way papermill does them: a cell tagged ``parameters`` holds the defaults, and
the values given on the command line (``kit investigate NOTEBOOK -p NAME=VALUE``) go into a new cell,
tagged ``injected-parameters``, right after it. JupyterLab users know the convention (and can tag a cell
from the property inspector); the notebook itself stays runnable by hand with its defaults.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from kit.errors import NotebookError
from kit.run.kernel import import_nbformat

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = ["parse_parameters", "inject_parameters", "parameter_names"]


def parse_parameters(items: list[str] | None) -> dict[str, object]:
    """``["SUITE=path/to/repo", "REPEAT=3"]`` -> ``{"SUITE": "path/to/repo", "REPEAT": 3}``: a value that reads
    as a Python literal is that literal, anything else is a string."""
    found: dict[str, object] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise NotebookError(f"'-p {item}' is not a parameter: write -p NAME=VALUE (e.g. -p SUITE=path/to/repo), "
                                "NAME being a variable of the notebook's cell tagged 'parameters'.")
        try:
            found[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            found[name] = text
    return found


def _parameters_cell(notebook: NotebookNode) -> int | None:
    return next((i for i, cell in enumerate(notebook.cells)
                 if "parameters" in cell.get("metadata", {}).get("tags", [])), None)


def parameter_names(notebook: NotebookNode) -> list[str]:
    """The names the notebook's ``parameters`` cell assigns."""
    index = _parameters_cell(notebook)
    if index is None:
        return []
    tree = ast.parse(notebook.cells[index].source)
    return [target.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)]


def inject_parameters(path: Path, parameters: dict[str, object] | None) -> NotebookNode:
    """The notebook at ``path`` with ``parameters`` assigned in a cell after its ``parameters`` cell."""
    nbformat = import_nbformat()
    notebook = nbformat.read(path, as_version=4)
    if not parameters:
        return notebook
    index = _parameters_cell(notebook)
    known = parameter_names(notebook)
    unknown = sorted(set(parameters) - set(known))
    if index is None or unknown:
        offer = f"it takes {', '.join(known)}" if known else "it has no cell tagged 'parameters'"
        raise NotebookError(f"{path.stem} has no parameter {', '.join(unknown or sorted(parameters))}: {offer}. "
                            "Give -p NAME=VALUE only for those, and run one notebook at a time with parameters.")
    source = "# Parameters given to kit investigate (-p NAME=VALUE)\n" + "".join(
        f"{name} = {value!r}\n" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source.rstrip("\n"))
    cell.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(index + 1, cell)
    return notebook
